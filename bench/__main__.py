"""Run the benchmarks: `python -m bench [name ...]` (all when no name is given), then one table.

Every `bench/bench_<name>.py` is a benchmark: its `run(args)` returns figures
(bench.core.Figure), some with a target. The runner runs each in turn (a
benchmark that crashes becomes a MISSED row; the others still run), writes
`bench/results/<name>.json` per benchmark and `summary.json` for the run, and
prints one table of every figure with its target. `--quick` runs smaller sizes
and writes to `bench/results/quick/` (not committed), so a smoke run never
overwrites the measured figures. Exit status 1 when a target is missed.
"""

import argparse
import importlib
import importlib.util
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from bench import core
from bench.core import Figure, print_table, setup_django, write_json


def available() -> list[str]:
    folder = str(Path(__file__).parent)
    return sorted(
        m.name[len("bench_") :] for m in pkgutil.iter_modules([folder]) if m.name.startswith("bench_")
    )


def _summary(name: str) -> str:
    spec = importlib.util.find_spec(f"bench.bench_{name}")
    source = Path(spec.origin).read_text() if spec and spec.origin else ""
    for quote in ('"""', "'''"):
        if source.lstrip().startswith(quote):
            return source.lstrip()[3:].split("\n", 1)[0].strip()
    return ""


def _run_one(name: str, args) -> list[Figure]:
    try:
        module = importlib.import_module(f"bench.bench_{name}")
        return module.run(args)
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
        traceback.print_exc()
        return [Figure(name, f"crashed: {type(exc).__name__}: {exc}"[:90], 0, "runs", "runs", ok=False)]


# Before each benchmark, wait (at most SETTLE_SECONDS) for the 1-minute load average to fall below
# SETTLE_LOAD: the one before leaves its tail (a worker sending its last emails, PostgreSQL writing
# out) and the load average decays over minutes. Two runs of the same code 7 minutes apart, back to
# back, gave the warm product page 0.69 and 0.24 of the trivial view.
SETTLE_LOAD = float(os.environ.get("BENCH_SETTLE_LOAD", "1.0"))
SETTLE_SECONDS = float(os.environ.get("BENCH_SETTLE_SECONDS", "180"))


def settle(*, quick: bool, sleep=time.sleep, load=os.getloadavg, clock=time.monotonic) -> float:
    """Wait for the machine to be quiet enough to measure; returns the 1-minute load average then."""
    deadline = clock() + (0 if quick else SETTLE_SECONDS)
    while load()[0] >= SETTLE_LOAD and clock() < deadline:
        sleep(5)
    return load()[0]


def main(argv: list[str] | None = None) -> int:
    names_available = available()
    parser = argparse.ArgumentParser(description="Run the shop's benchmarks and print one table of figures.")
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(names_available)}"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    parser.add_argument(
        "--skip", action="append", default=[], metavar="NAME", help="leave this benchmark out"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--results-dir", type=Path, help="where the JSON goes (default: bench/results)")
    args = parser.parse_args(argv)
    if args.list:
        for name in names_available:
            print(f"{name:12} {_summary(name)}")
        return 0
    names = [n for n in (args.names or names_available) if n not in args.skip]
    unknown = set(names) - set(names_available)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    results_dir = args.results_dir or (core.RESULTS_DIR / "quick" if args.quick else core.RESULTS_DIR)
    setup_django()
    all_figures: list[Figure] = []
    runs = {}
    for name in names:
        print(f"== {name}", flush=True)
        print(f"   load average (1 min) {settle(quick=args.quick):.2f} at the start", flush=True)
        started = time.perf_counter()
        figures = _run_one(name, args)
        seconds = round(time.perf_counter() - started, 1)
        path = write_json(
            name, figures, extra={"seconds": seconds, "quick": args.quick}, results_dir=results_dir
        )
        print(f"   {seconds:.0f} s; figures written to {path}", flush=True)
        runs[name] = {"seconds": seconds, "figures": len(figures)}
        all_figures.extend(figures)
    write_json("summary", all_figures, extra={"runs": runs, "quick": args.quick}, results_dir=results_dir)
    print()
    print_table(all_figures)
    return 1 if any(f.ok is False for f in all_figures) else 0


if __name__ == "__main__":
    sys.exit(main())
