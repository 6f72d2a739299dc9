"""One simulation on the current database: set up, run the days, read back, measure.

`simulate()` expects an empty, migrated database and tasks run in process (eager); `make simulate`
(bench/simulate/__main__.py) gives it a throwaway one, the smoke test the suite's.
"""

import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta

from .days import Simulation
from .report import emails_read, false_alarms, figures_compute, outcomes_read, ship_dates_read
from .world import Params, world_plan


def simulate(params: Params, *, progress: Callable[[str], None] | None = None) -> dict:
    """Run the shop for `params` and return its report: figures, counters, parameters, and the
    backordered lines' outcomes (for the plot). Deterministic for a seed, whatever the database."""
    import time_machine
    from django.conf import settings
    from django.utils import timezone

    from inventory.selectors.calendar import shipping_calendar

    from .world import reference_data_create

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        raise RuntimeError("the simulation runs the shop's tasks in process: CELERY_TASK_ALWAYS_EAGER")
    from config.celery import app

    if not app.conf.task_always_eager:
        raise RuntimeError("the simulation runs the shop's tasks in process: task_always_eager is off")
    started = time.perf_counter()
    world = world_plan(params)
    day0 = timezone.make_aware(
        timezone.datetime.combine(params.start - timedelta(days=1), timezone.datetime.min.time())
    )
    with time_machine.travel(day0, tick=False) as traveller:
        ids = reference_data_create(world)
        sim = Simulation(world, ids, progress=progress)
        sim.run(traveller)
        end = timezone.localdate()
        calendar = shipping_calendar(today=params.start)
        habit_of_variant = {
            vid: world.suppliers[v.supplier].habit
            for vid, v in zip(ids["variants"], world.variants, strict=True)
        }
        ship_dates = ship_dates_read()
        outcomes = outcomes_read(habit_of_variant=habit_of_variant, ship_dates=ship_dates)
        emails, orphans = emails_read()
    figures = figures_compute(outcomes, emails, orphans, end=end, is_shipping_day=calendar.is_shipping_day)
    figures["false_alarms"] = false_alarms(emails, ship_dates, end=end)
    return {
        "seed": params.seed,
        "parameters": params.as_json(),
        "suppliers": [asdict(s) for s in world.suppliers],
        "ended_on": end.isoformat(),
        "counters": asdict(sim.counters),
        "figures": figures,
        "seconds": round(time.perf_counter() - started, 1),
        "outcomes": outcomes,
    }
