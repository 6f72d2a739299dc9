"""The issue-22 targets as the checkout, pages and load benchmarks compute them from what they measured.

The runs themselves take minutes on PostgreSQL (`make bench`); these check the arithmetic of the
figures: ratios to the trivial view of the same run, CPU per order, which figure carries which target.
"""

from collections import Counter

from bench import bench_pages
from bench.checkout import figures
from bench.checkout.client import Tally
from bench.checkout.inprocess import STEPS, WHOLE, StepFigures
from bench.loadgen import Result
from load.run import _probe_figures


def _by_name(figure_list):
    return {f.name: f for f in figure_list}


def _tally(orders: int, last_at: float) -> Tally:
    tally = Tally(attempts=orders, bound=60)
    tally.orders = [(last_at * (n + 1) / orders, f"N{n}") for n in range(orders)]
    tally.latencies = {"place order": [0.1] * 19 + [0.5]}
    return tally


def test_journey_orders_per_second_is_judged_against_the_trivial_view_over_25():
    cpu = {"gunicorn": 2.0, figures.PG: 0.5, "machine, all processes": 4.0, "other programs": 0.5}

    result = _by_name(
        figures.journey_figures(
            tally=_tally(orders=50, last_at=2.5),
            elapsed=3.0,
            cpu=cpu,
            sessions={},
            trivial_rps=600.0,
            cores=2,
        )
    )

    throughput = result["orders per second while stock lasted (>= trivial view's req/s / 25)"]
    assert (throughput.value, throughput.target, throughput.ok) == (20.0, ">= 24.0", False)
    assert result["trivial-view requests per second / orders per second"].value == 30.0
    cpu_per_order = result["CPU per order, gunicorn + PostgreSQL"]  # (2.0 + 0.5) s / 50 orders
    assert (cpu_per_order.value, cpu_per_order.target, cpu_per_order.ok) == (50.0, "<= 45", False)
    p95 = result["checkout POST latency p95"]
    assert (p95.target, p95.ok) == ("<= 400", True)


def test_in_process_post_carries_the_query_and_time_targets_and_the_other_steps_none():
    steps = {step: StepFigures(seconds=[0.010, 0.011, 0.030], queries=[9, 9]) for step in (*STEPS, WHOLE)}
    steps["place order"] = StepFigures(seconds=[0.011, 0.013, 0.012], queries=[12, 13])

    result = _by_name(figures.inprocess_figures(steps, sent=25, orders=25))

    median = result["in process: place-order POST median"]
    assert (median.value, median.ok) == (12.0, True)
    queries = result["in process: place-order POST queries (most of 2 guests)"]
    assert (queries.value, queries.target, queries.ok) == (13, "<= 12", False)
    assert result["in process: checkout page median"].value == 11.0
    assert result["in process: checkout page median"].ok is None
    assert [f.name for f in result.values() if f.ok is not None] == [
        "in process: place-order POST median",
        "in process: place-order POST queries (most of 2 guests)",
        "in process: confirmation emails sent by the worker",
    ]


def test_pages_ratios_take_the_trivial_view_of_the_same_phase():
    def result(per_second: float, failures: int = 0) -> Result:
        return Result(int(per_second * 10), 10.0, failures, 5.0, 9.0, 12.0, 0.1)

    uncached = {
        bench_pages.TRIVIAL: result(800),
        "home page": result(100),
        "product page": result(160, failures=2),
        "category listing": result(40),
    }

    got = _by_name(bench_pages._figures("uncached", uncached))

    assert (
        got["uncached: home page / trivial view"].value,
        got["uncached: home page / trivial view"].ok,
    ) == (
        0.125,
        False,
    )
    assert got["uncached: product page / trivial view"].ok is True  # 0.2 >= 0.15
    assert got["uncached: category listing / trivial view"].ok is None  # for reference only
    assert got["uncached: failed requests (errors, not 200)"].value == 2


def test_load_probes_report_home_and_product_page_against_the_trivial_view():
    probes = {
        "trivial view (/healthz)": {"rps": 400.0, "p95": 30.0, "failures": 0},
        "catalog listing": {"rps": 220.0, "p95": 60.0, "failures": 0},
        "home page": {"rps": 180.0, "p95": 70.0, "failures": 1},
        "product page": {"rps": 200.0, "p95": 65.0, "failures": 0},
        "_failures": [],
    }

    got = _by_name(_probe_figures(probes, trivial_rps=400.0))

    assert {name: (f.value, f.ok) for name, f in got.items() if "/ trivial" in name} == {
        "catalog listing / trivial view": (0.55, True),
        "home page / trivial view": (0.45, False),
        "product page / trivial view": (0.5, True),
    }
    assert got["probes: failed requests"].value == 1
    assert Counter(f.ok for f in got.values())[None] == 6  # requests/s and p95 of each page
