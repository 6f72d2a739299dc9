"""Shared pieces for benchmarks: figures, the table, the JSON file, Django setup."""

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


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
    import django

    django.setup()


def print_table(figures: list[Figure]) -> None:
    rows = [("benchmark", "figure", "value", "unit", "target", "")]
    for f in figures:
        value = f"{f.value:,.1f}" if isinstance(f.value, float) else f"{f.value:,}"
        verdict = "" if f.ok is None else ("ok" if f.ok else "MISSED")
        rows.append((f.benchmark, f.name, value, f.unit, f.target, verdict))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print(
            "  ".join(
                str(c).ljust(w) if i != 2 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def write_json(name: str, figures: list[Figure], extra: dict | None = None) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
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
