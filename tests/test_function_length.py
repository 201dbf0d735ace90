"""No library function is over 120 lines (project rule: one concept per function).

Scans every function and method of the library packages (``framework/``, ``components/``,
``containers/``) with the ``ast`` module and lists each offender as ``file:line name (n lines)``.
"""

import ast

from conftest import REPO_ROOT

LIBRARY_PACKAGES = ("framework", "components", "containers")
MAX_LINES = 120


def function_lengths(path):
    """(line, name, number of lines) of every function and method defined in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
            yield node.lineno, node.name, node.end_lineno - first + 1


def library_files():
    files = []
    for package in LIBRARY_PACKAGES:
        files += sorted((REPO_ROOT / package).rglob("*.py"))
    return files


def test_the_scan_sees_the_library():
    files = library_files()
    assert len(files) > 20
    assert any(name == "daily_step" for path in files for _, name, _ in function_lengths(path))


def test_no_library_function_over_120_lines():
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{line} {name} ({length} lines)"
        for path in library_files()
        for line, name, length in function_lengths(path)
        if length > MAX_LINES
    ]
    assert not offenders, f"functions over {MAX_LINES} lines:\n" + "\n".join(offenders)
