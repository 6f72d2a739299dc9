"""The floor plan (docs/architecture.md) holds: import contracts, module sizes, one home per lock and per table.

These read the source tree, not the database: they fail when a change puts code on the wrong floor.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("shop", "inventory", "orders", "notifications", "config")
MAX_LINES = 520  # "about 500": a module past this is split by concern


def _modules() -> list[Path]:
    """Every non-migration, non-test Python module of the project's apps."""
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            if "migrations" in parts or "tests" in parts or path.name.startswith("test_"):
                continue
            found.append(path)
    return sorted(found)


def _relative(paths) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in paths)


def test_the_import_contracts_hold():
    """lint-imports (pyproject.toml's [tool.importlinter]) reports every contract kept."""
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout


def test_no_module_is_over_about_500_lines():
    too_long = [p for p in _modules() if len(p.read_text().splitlines()) > MAX_LINES]
    assert _relative(too_long) == []


def test_row_locks_are_taken_only_by_the_named_helpers():
    """Every `select_for_update` lives in a locks.py (docs/concurrency.md lists them in lock order)."""
    inline = [p for p in _modules() if p.name != "locks.py" and "select_for_update(" in p.read_text()]
    assert _relative(inline) == []


@pytest.mark.parametrize(
    ("table", "homes"),
    [
        # SQL that names a table directly is written by the one module that owns that table.
        (
            "orders_orderline",
            {"orders/services/allocation_batches.py", "orders/services/after_allocation.py"},
        ),
        ("notifications_notification", {"notifications/services/outbox.py"}),
    ],
)
def test_raw_sql_names_a_table_only_in_its_own_module(table, homes):
    pattern = re.compile(rf"\b{table}\b")
    found = {str(p.relative_to(ROOT)) for p in _modules() if pattern.search(p.read_text())}
    assert found <= homes, sorted(found - homes)
