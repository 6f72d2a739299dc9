"""Run the benchmarks: `python -m bench [name ...]` (all when no name is given)."""

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from bench.core import print_table, setup_django, write_json


def main() -> int:
    folder = str(Path(__file__).parent)
    available = sorted(
        m.name[len("bench_") :] for m in pkgutil.iter_modules([folder]) if m.name.startswith("bench_")
    )
    parser = argparse.ArgumentParser(description="Run the shop's benchmarks.")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(available)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    args = parser.parse_args()
    names = args.names or available
    unknown = set(names) - set(available)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    setup_django()
    all_figures = []
    failed = False
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}", flush=True)
        figures = module.run(args)
        path = write_json(name, figures)
        print(f"   figures written to {path}")
        all_figures.extend(figures)
        failed |= any(f.ok is False for f in figures)
    print()
    print_table(all_figures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
