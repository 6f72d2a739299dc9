"""`python -m bench` runs each benchmark, survives a broken one, and prints one table (smoke test).

A stand-in benchmark keeps this fast: the real ones take minutes (`make bench`).
"""

import json
import re
import sys
import types

import pytest

import bench.__main__ as runner
from bench.core import Figure, print_table


@pytest.fixture
def stand_in(monkeypatch):
    """A benchmark `bench.bench_smoke` that counts variants and reports one figure with a target."""

    def run(args):
        from shop.models import Variant

        return [
            Figure.check("smoke", "variants counted", Variant.objects.count(), "variants", at_most=0),
            Figure("smoke", "quick", int(args.quick), "flag"),
        ]

    module = types.ModuleType("bench.bench_smoke", "Smoke: a stand-in benchmark for the runner's test.")
    module.run = run
    monkeypatch.setitem(sys.modules, "bench.bench_smoke", module)
    monkeypatch.setattr(runner, "available", lambda: ["allocation", "smoke"])
    monkeypatch.setattr(runner, "SETTLE_SECONDS", 0)  # the suite's own load is no reason to wait here
    return module


def test_the_real_benchmarks_are_found():
    assert {"allocation", "checkout", "fanout", "load", "pages"} <= set(runner.available())


@pytest.mark.django_db
def test_quick_run_writes_figures_and_summary_and_prints_one_table(stand_in, tmp_path, capsys):
    status = runner.main(["smoke", "--quick", "--results-dir", str(tmp_path)])

    out = capsys.readouterr().out
    figures = json.loads((tmp_path / "smoke.json").read_text())["figures"]
    assert [(f["name"], f["value"], f["ok"]) for f in figures] == [
        ("variants counted", 0, True),
        ("quick", 1, None),
    ]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["quick"] is True and list(summary["runs"]) == ["smoke"]
    assert len(re.findall(r"^benchmark +figure", out, re.M)) == 1
    assert out.rstrip().endswith("2 figures, 1 with a target: 1 ok, 0 missed")
    assert status == 0


@pytest.mark.django_db
def test_a_crashing_benchmark_is_a_missed_row_and_the_others_still_run(
    stand_in, tmp_path, capsys, monkeypatch
):
    import bench.bench_allocation

    def broken(args):
        raise RuntimeError("database went away")

    monkeypatch.setattr(bench.bench_allocation, "run", broken)

    assert runner.main(["--results-dir", str(tmp_path)]) == 1

    out = capsys.readouterr().out
    assert "crashed: RuntimeError: database went away" in out
    assert "variants counted" in out  # the next benchmark ran
    assert "3 figures, 2 with a target: 1 ok, 1 missed (allocation: crashed" in out


def test_skip_leaves_a_benchmark_out(stand_in, tmp_path, capsys):
    assert runner.main(["--skip", "allocation", "--skip", "smoke", "--results-dir", str(tmp_path)]) == 0
    assert "== " not in capsys.readouterr().out


def test_table_separates_benchmarks_and_counts_targets(capsys):
    print_table(
        [
            Figure.check("a", "rate", 120.0, "req/s", at_least=100),
            Figure("a", "p95", 80.0, "ms"),
            Figure.check("b", "oversold units", 1, "units", at_most=0),
        ]
    )

    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split() == ["a", "rate", "120.0", "req/s", ">=", "100", "ok"]
    assert lines[4].startswith("---")  # a rule between benchmark a and b
    assert lines[5].split() == ["b", "oversold", "units", "1", "units", "<=", "0", "MISSED"]
    assert lines[-1] == "3 figures, 2 with a target: 1 ok, 1 missed (b: oversold units)"


def test_a_benchmark_waits_for_the_machine_to_settle_but_not_for_ever():
    from bench.__main__ import SETTLE_LOAD, SETTLE_SECONDS, settle

    now = [0.0]
    loads = iter([3.0, 2.0, SETTLE_LOAD - 0.1, SETTLE_LOAD - 0.1])

    def sleep(seconds):
        now[0] += seconds

    assert settle(quick=False, sleep=sleep, load=lambda: (next(loads),), clock=lambda: now[0]) < SETTLE_LOAD
    assert now[0] == 10  # two waits of 5 s, then quiet

    now[0] = 0.0
    assert settle(quick=False, sleep=sleep, load=lambda: (9.0,), clock=lambda: now[0]) == 9.0
    assert now[0] == SETTLE_SECONDS  # gave up: the run goes on, the load average it starts at is printed

    now[0] = 0.0
    assert settle(quick=True, sleep=sleep, load=lambda: (9.0,), clock=lambda: now[0]) == 9.0
    assert now[0] == 0  # a smoke run does not wait
