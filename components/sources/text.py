"""Text files as every reader sees them: one rule for byte-order marks and encodings.

All delimited-text readers (site table, forcing, Sentinel-1, LAI, ISMN, the field-campaign
tables) decode a file through :func:`read_text`:

* a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped;
* a UTF-16 file with its byte-order mark (Excel's "Unicode text") is decoded as UTF-16;
* any other file must be UTF-8; one that is not (a Windows-1252 / Latin-1 export with a degree
  sign, say) is decoded as Latin-1, which maps every byte to one character.  The readers only
  interpret digits, separators, dates and column names, which are ASCII in all of these;
* an empty file (nothing but white space) is a :class:`TextFileError` naming the file.

:func:`text_table` hands the decoded text to :func:`pandas.read_csv` as a file object whose
``str()`` is the file name, so the readers' messages keep naming the file.
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path
from typing import Any

from s1da.framework.sitedata import DataError


class TextFileError(DataError):
    """A text file that cannot be read at all (missing, unreadable, empty); names the file."""


class NamedText(io.StringIO):
    """In-memory text of a file, named after it in messages (``str()`` gives the file name)."""

    def __init__(self, text: str, label: str):
        super().__init__(text)
        self.label = label

    def __str__(self) -> str:
        return self.label


def decode(raw: bytes) -> str:
    """The text of a file's bytes under the rule of the module docstring."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_text(path: Any) -> str:
    """Decoded text of ``path`` (a path, or anything with ``read_bytes`` such as ``zipfile.Path``)."""
    if isinstance(path, NamedText):
        return path.getvalue()
    source = path if hasattr(path, "read_bytes") else Path(path)
    try:
        raw = source.read_bytes()
    except IsADirectoryError:
        raise TextFileError(f"{path}: is a folder, not a text file") from None
    except OSError as error:
        raise TextFileError(f"{path}: cannot read: {error.strerror or error}") from None
    text = decode(raw)
    if not text.strip():
        raise TextFileError(f"{path}: the file is empty")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_table(path: Any) -> NamedText:
    """A fresh file object over the decoded text of ``path``, for :func:`pandas.read_csv`."""
    return NamedText(read_text(path), str(path))
