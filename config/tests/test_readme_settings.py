"""The README's settings tables name every environment variable the settings read, and no other: those of
`config/settings.py` and of the parts it includes (`config/settings_parts/*.py`).

Both sides are read from the source: settings by its `env(...)` / `env.int(...)` (django-environ)
and `os.environ` / `os.getenv` calls, the README by the first column of the tables under
"## Configuration". A variable added to settings without a row, or a row left behind for a
variable settings stopped reading, fails here.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = [ROOT / "config" / "settings.py", *sorted((ROOT / "config" / "settings_parts").glob("*.py"))]
README = ROOT / "README.md"

NOT_READING = {"read_env"}  # django-environ methods that read no variable


def _is_env(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "env"


def _is_os_environ(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute) and node.attr == "environ" and getattr(node.value, "id", "") == "os"
    )


def variables_settings_reads() -> set[str]:
    names, computed = set(), []
    nodes = [node for path in SETTINGS for node in ast.walk(ast.parse(path.read_text()))]
    for node in nodes:
        key = None
        if isinstance(node, ast.Call):
            func = node.func
            if (
                _is_env(func)
                or (isinstance(func, ast.Attribute) and _is_env(func.value) and func.attr not in NOT_READING)
                or (isinstance(func, ast.Attribute) and func.attr == "get" and _is_os_environ(func.value))
                or (
                    isinstance(func, ast.Attribute)
                    and func.attr == "getenv"
                    and getattr(func.value, "id", "") == "os"
                )
            ):
                key = node.args[0] if node.args else None
                if key is None:
                    computed.append(ast.unparse(node))
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            key = node.slice
        if key is None:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
        else:
            computed.append(ast.unparse(key))
    assert computed == [], "settings reads variables whose names this test cannot see"
    return names


def readme_tables() -> list[tuple[list[str], list[list[str]]]]:
    """(header cells, rows of cells) of every table in the README's Configuration section."""
    text = README.read_text()
    section = text[text.index("\n## Configuration\n") :]
    section = section[: section.index("\n## ", 1)]
    tables, current = [], []
    for line in [*section.splitlines(), ""]:
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif current:
            header, _separator, *rows = current
            tables.append((header, rows))
            current = []
    return tables


def names_in(cell: str) -> list[str]:
    return re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)


def settings_rows() -> list[list[str]]:
    return [row for header, rows in readme_tables() if header[1] != "read by" for row in rows]


def readme_settings_variables() -> set[str]:
    return {name for row in settings_rows() for name in names_in(row[0])}


def test_the_readme_tables_every_variable_settings_reads():
    assert variables_settings_reads() - readme_settings_variables() == set()


def test_the_readme_tables_no_variable_settings_does_not_read():
    assert readme_settings_variables() - variables_settings_reads() == set()


def test_every_settings_row_names_a_variable_and_gives_its_default_and_meaning():
    rows = settings_rows()

    assert len(rows) > 50
    for row in rows:
        assert len(row) == 3, row
        assert names_in(row[0]), row
        assert all(row[1:]), row


def test_variables_the_commands_read_are_read_where_the_readme_says_and_not_by_settings():
    rows = [row for header, rows in readme_tables() if header[1] == "read by" for row in rows]

    assert rows
    for row in rows:
        [name] = names_in(row[0])
        files = names_in_files(row[1])
        assert files, row
        for path in files:
            assert name in (ROOT / path).read_text(), (name, path)
        assert all(row[2:]), row
    assert {names_in(row[0])[0] for row in rows} & variables_settings_reads() == set()


def names_in_files(cell: str) -> list[str]:
    return re.findall(r"`([\w./]+)`", cell)
