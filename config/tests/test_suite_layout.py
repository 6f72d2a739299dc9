"""The suite finds every test: `testpaths` names each folder that holds tests.

`pytest` with no arguments (what `make test` and CI run) collects only `testpaths`
(pyproject.toml): a new app's tests outside it would never run, and nothing would say so.
"""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_OURS = {".venv", "node_modules", ".git", "var", "static"}


def test_every_folder_with_tests_is_in_testpaths():
    testpaths = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    )
    folders = {
        path.relative_to(ROOT).parts[0]
        for path in ROOT.glob("*/**/test_*.py")
        if path.relative_to(ROOT).parts[0] not in NOT_OURS
    }
    assert folders - testpaths == set()
    assert testpaths - folders == set()  # and no folder named there has lost its tests
