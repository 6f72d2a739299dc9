"""`python -m bench.simulate [--seed N ...]` (`make simulate SEED=N`): the promise simulator.

A seeded shop driven through its real services on a throwaway database (a SQLite file in a
temporary folder; a new PostgreSQL database next to DATABASE_URL's when that is set, dropped at the
end), migrated fresh, so it never touches var/db.sqlite3. Prints one table with each target of
issue 18 (ok or MISSED), writes bench/results/simulate.json and simulate.svg, and exits 1 when a
target is missed. docs/dates.md, "Measuring the promises".
"""

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, fields
from datetime import date
from pathlib import Path

from bench import core
from bench.core import print_table, write_json

from .world import Params


def _args(argv: list[str] | None) -> tuple[Params, argparse.Namespace]:
    defaults = Params()
    parser = argparse.ArgumentParser(description="The promise simulator (issue 18, item 7).")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--days", type=int, default=defaults.days, help="days of demand")
    parser.add_argument(
        "--drain-days", type=int, default=defaults.drain_days, help="days after, no new orders"
    )
    parser.add_argument("--variants", type=int, default=defaults.variants)
    parser.add_argument("--suppliers", type=int, default=defaults.suppliers)
    parser.add_argument("--orders-per-day", type=float, default=defaults.orders_per_day)
    parser.add_argument("--start", type=date.fromisoformat, default=defaults.start)
    parser.add_argument(
        "--history-orders",
        type=int,
        default=defaults.history_orders,
        help="purchase orders each supplier delivered before day 0 (0: the cold start)",
    )
    parser.add_argument("--results-dir", type=Path, help="default: bench/results")
    parser.add_argument("--keep-db", action="store_true", help="leave the database behind, and say where")
    args = parser.parse_args(argv)
    names = {f.name for f in fields(Params)}
    given = {k: v for k, v in vars(args).items() if k in names}
    return Params(**{**asdict(defaults), **given}), args


def _throwaway_database(keep: bool):
    """Point the default connection at a new database and migrate it; returns a cleanup function."""
    from django.db import connection

    folder = tempfile.mkdtemp(prefix="shop-simulate-")
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = str(Path(folder) / "simulate.sqlite3")
    else:
        connection.settings_dict["TEST"]["NAME"] = f"simulate_{os.getpid()}"
    original = connection.settings_dict["NAME"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    print(f"   database: {name} (migrated fresh)", flush=True)

    def cleanup() -> None:
        if keep:
            print(f"   database kept: {name}")
            return
        connection.creation.destroy_test_db(original, verbosity=0)
        shutil.rmtree(folder, ignore_errors=True)

    return cleanup


def main(argv: list[str] | None = None) -> int:
    params, args = _args(argv)
    os.environ.setdefault("SHOP_TEST_HARNESS", "1")  # the test card gateway (config/settings.py)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.simulate.settings"
    core.setup_django()
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)  # a line per task otherwise
    from .plot import plot_svg
    from .report import figure_rows
    from .run import simulate

    cleanup = _throwaway_database(args.keep_db)
    try:
        report = simulate(params, progress=lambda msg: print(f"   {msg}", flush=True))
    finally:
        cleanup()
    results_dir = args.results_dir or core.RESULTS_DIR
    outcomes = report.pop("outcomes")
    rows = figure_rows(report["figures"])
    path = write_json("simulate", rows, extra=report, results_dir=results_dir)
    svg = results_dir / "simulate.svg"
    svg.write_text(plot_svg(outcomes, title=f"Promised vs shipped, seed {params.seed}"))
    print(f"   {report['seconds']:.0f} s; figures written to {path}, plot to {svg}")
    print()
    print_table(rows)
    habits = report["figures"]["by_supplier_habit"]
    print()
    print("by supplier habit: lines shipped by the first date shown / by the naive date; median errors")
    for habit, f in habits.items():
        s, n = f["first_date"], f["naive"]
        print(
            f"  {habit:10} {s['lines']:4} lines  {s['shipped_by_date_pct']:5.1f}% / {n['shipped_by_date_pct']:5.1f}%"
            f"  {s['error_median_days']} / {n['error_median_days']} working days"
        )
    print(json.dumps(report["counters"]))
    return 1 if any(r.ok is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
