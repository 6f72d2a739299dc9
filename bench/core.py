"""Shared pieces for benchmarks: figures, the table, the JSON file, Django setup."""

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR") or Path(__file__).resolve().parent / "results")


@dataclass
class Figure:
    benchmark: str
    name: str
    value: float
    unit: str
    target: str = ""  # e.g. ">= 500", "<= 10"
    ok: bool | None = None  # None: no target

    @classmethod
    def check(cls, benchmark: str, name: str, value: float, unit: str, *, at_least=None, at_most=None):
        ok = None
        target = ""
        if at_least is not None:
            ok, target = value >= at_least, f">= {at_least}"
        if at_most is not None:
            ok, target = value <= at_most, f"<= {at_most}"
        return cls(benchmark, name, value, unit, target, ok)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A benchmark's tasks (and its workers', which inherit this) go to its private queue, whatever
    # their family: CELERY_TASK_DEFAULT_QUEUE, set per run.
    os.environ.setdefault("CELERY_ROUTE_QUEUES", "0")
    import django
    from django.apps import apps

    if not apps.ready:  # already set up when called from a test
        django.setup()


def print_table(figures: list[Figure]) -> None:
    """One table for all the figures, a rule between benchmarks, then a one-line verdict."""
    rows = [("benchmark", "figure", "value", "unit", "target", "")]
    for f in figures:
        if isinstance(f.value, float):
            value = f"{f.value:,.2f}" if abs(f.value) < 10 else f"{f.value:,.1f}"
        else:
            value = f"{f.value:,}"
        verdict = "" if f.ok is None else ("ok" if f.ok else "MISSED")
        rows.append((f.benchmark, f.name, value, f.unit, f.target, verdict))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    rule = "  ".join("-" * w for w in widths)
    for n, row in enumerate(rows):
        if n > 1 and row[0] != rows[n - 1][0]:
            print(rule)
        print(
            "  ".join(
                str(c).ljust(w) if i != 2 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            print(rule)
    print()
    print(verdict_line(figures))


def verdict_line(figures: list[Figure]) -> str:
    checked = [f for f in figures if f.ok is not None]
    missed = [f for f in checked if not f.ok]
    line = f"{len(figures)} figures, {len(checked)} with a target: {len(checked) - len(missed)} ok, {len(missed)} missed"
    if missed:
        line += " (" + "; ".join(f"{f.benchmark}: {f.name}" for f in missed) + ")"
    return line


def write_json(
    name: str, figures: list[Figure], extra: dict | None = None, results_dir: Path | None = None
) -> Path:
    results_dir = results_dir or RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "database": os.environ.get("DATABASE_URL", "sqlite (default)").split("@")[-1],
        "figures": [asdict(f) for f in figures],
        **(extra or {}),
    }
    path.write_text(json.dumps(payload, indent=2))
    return path
