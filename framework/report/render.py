"""``summary.md`` and ``index.html`` from the same page description."""

from __future__ import annotations

import html as html_module
import re
from dataclasses import dataclass, field

from s1da.framework.report.tables import Table


@dataclass
class Page:
    title: str
    settings: list[tuple[str, str]]
    tables: list[Table]
    figures: list[tuple[str, str, list[str]]]  # (stem, caption, file names)
    notes: list[str] = field(default_factory=list)
    has_sites_csv: bool = False


def _markdown_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(page: Page) -> str:
    lines = [f"# {page.title}", "", "## Settings", "", "| setting | value |", "|---|---|"]
    lines += [f"| {_markdown_cell(key)} | {_markdown_cell(value)} |" for key, value in page.settings]
    for table in page.tables:
        lines += ["", f"## {table.title}", ""]
        lines.append("| " + " | ".join(_markdown_cell(c) for c in table.columns) + " |")
        lines.append("|---" + "|---:" * (len(table.columns) - 1) + "|")
        lines += ["| " + " | ".join(_markdown_cell(c) for c in row) + " |" for row in table.rows]
        if table.note:
            lines += ["", table.note]
    lines += ["", "## Figures", ""]
    for stem, caption, names in page.figures:
        image = next((name for name in names if name.endswith(".png")), names[0])
        others = ", ".join(f"[{name.rsplit('.', 1)[1].upper()}]({name})" for name in names if name != image)
        lines.append(f"![{caption}]({image})" + (f" ({others})" if others else ""))
        lines.append("")
    if page.has_sites_csv:
        lines += ["Every per-site score: [sites.csv](sites.csv)", ""]
    if page.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in page.notes]
    return "\n".join(lines) + "\n"


STYLE = """body{font-family:system-ui,sans-serif;max-width:1150px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:0.9em;color:#444}
p.note{font-size:0.9em;color:#555}"""


NUMBER = re.compile(r"^([+-]?\d[\d.]*( \[[^\]]*\])?|n/a|-)$")


def _html_table(table: Table) -> str:
    escape = html_module.escape
    head = "".join(f"<th>{escape(column)}</th>" for column in table.columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td{' class=num' if NUMBER.match(str(cell)) else ''}>{escape(cell)}</td>" for cell in row) + "</tr>"
        for row in table.rows
    )
    note = f"<p class=note>{escape(table.note)}</p>" if table.note else ""
    return f"<h2>{escape(table.title)}</h2>\n<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>\n{note}"


def html(page: Page) -> str:
    escape = html_module.escape
    settings = Table("Settings", ["setting", "value"], [list(row) for row in page.settings])
    tables = "\n".join(_html_table(table) for table in [settings, *page.tables])
    figure_parts = []
    for stem, caption, names in page.figures:
        image = next((name for name in names if name.endswith(".png")), next((n for n in names if n.endswith(".svg")), None))
        links = " ".join(f"<a href='{escape(name)}'>{escape(name.rsplit('.', 1)[1].upper())}</a>" for name in names)
        picture = f"<img src='{escape(image)}' alt='{escape(caption)}'>" if image else ""
        figure_parts.append(f"<figure id='{escape(stem)}'>{picture}<figcaption>{escape(caption)} ({links})</figcaption></figure>")
    notes = "".join(f"<li>{escape(note)}</li>" for note in page.notes)
    downloads = ["<a href='summary.md'>summary.md</a>"]
    if page.has_sites_csv:
        downloads.insert(0, "<a href='sites.csv'>sites.csv</a> (every per-site score)")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(page.title)}</title>
<style>{STYLE}</style></head>
<body><h1>{escape(page.title)}</h1>
{tables}
<h2>Figures</h2>
{chr(10).join(figure_parts)}
<h2>Files</h2><p>{' &middot; '.join(downloads)}</p>
<h2>Notes</h2><ul>{notes}</ul>
</body></html>
"""
