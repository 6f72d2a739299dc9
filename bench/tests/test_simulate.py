"""The promise simulator (bench/simulate/), smoke test: a tiny run has every figure and is repeatable.

A few days and variants on the suite's database; `make simulate` is the measurement.
"""

from datetime import date

import pytest
from django.core.management import call_command

from bench.simulate.plot import plot_svg
from bench.simulate.report import figure_rows, nearest_rank, working_days_between
from bench.simulate.run import simulate
from bench.simulate.world import Params

TINY = Params(seed=7, days=4, drain_days=8, variants=4, suppliers=4, orders_per_day=6)


def _comparable(report: dict) -> dict:
    """The report without what differs between two runs of one seed: row ids and the time taken."""
    outcomes = [(o.placed, o.first_shown, o.naive, o.shipped, o.habit) for o in report["outcomes"]]
    return {**{k: v for k, v in report.items() if k not in ("seconds", "outcomes")}, "outcomes": outcomes}


@pytest.mark.django_db(transaction=True)
def test_a_tiny_run_reports_every_figure_and_repeats_exactly():
    first = simulate(TINY)
    call_command("flush", interactive=False, verbosity=0)
    second = simulate(TINY)

    assert _comparable(first) == _comparable(second)
    figures = first["figures"]
    assert set(figures) == {
        "backordered_lines",
        "backordered_orders",
        "still_waiting_at_end",
        "first_date",
        "naive",
        "miss_ratio_vs_naive",
        "median_error_ratio_vs_naive",
        "delay_emails",
        "delay_emails_per_backordered_order",
        "delay_emails_max_per_order",
        "delay_emails_repeating_a_slip",
        "delay_emails_without_a_slip",
        "false_alarms",
        "by_supplier_habit",
    }
    assert (
        set(figures["first_date"])
        == set(figures["naive"])
        == {
            "lines",
            "shipped_by_date_pct",
            "error_median_days",
            "error_p90_days",
            "late_lines",
            "early_lines",
        }
    )
    assert first["counters"]["orders_placed"] > 0
    assert figures["backordered_lines"] == len(first["outcomes"]) > 0
    assert first["seed"] == 7 and first["parameters"]["variants"] == 4
    rows = figure_rows(figures)
    assert [r.name for r in rows if r.ok is not None] == [
        "shipped by the first date shown",
        "first date: median error",
        "misses, first date ÷ naive",
        "median error, first date ÷ naive",
        "delay emails repeating a slip",
        "delay emails with no slip",
        "slips emailed whose date held",
    ]
    svg = plot_svg(first["outcomes"], title="tiny")
    assert svg.startswith("<svg") and svg.count("<circle") >= 2


def test_working_days_and_percentiles():
    def weekday(d):
        return d.weekday() < 5

    friday, monday = date(2026, 3, 6), date(2026, 3, 9)

    assert working_days_between(weekday, friday, monday) == 1
    assert working_days_between(weekday, monday, friday) == 1
    assert working_days_between(weekday, friday, friday) == 0
    assert nearest_rank([0, 1, 3, 10, 20], 90) == 20
    assert nearest_rank([0, 1, 3, 10, 20], 50) == 3
    assert nearest_rank([], 90) is None
