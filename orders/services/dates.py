"""Expected dates of waiting lines, projected from the queue and the incoming supply."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.utils import timezone

from inventory.projection import DateRange, ordered_incoming
from inventory.selectors import availability_for_variants

from ..models import OrderLine
from ..querysets import queue_order

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LineProjection:
    """One waiting line as the queue projection sees it."""

    line_id: int
    variant_id: int
    units_ahead: int  # waiting units of the lines served before it
    waiting: int
    old_date: date | None  # as stored before this refresh
    new_date: date  # projected now (and stored): the confident end, the date a promise is held to
    new_earliest: date | None = None  # the earliest end of the range projected now (and stored)


@dataclass(frozen=True)
class DatesRefresh:
    """What `backorder_dates_refresh` saw: every waiting line's projection and the numbers behind it."""

    today: date
    availability: dict  # variant id -> inventory.selectors.Availability
    lines: list[LineProjection]  # every waiting line of the variants, in queue order
    changed: int  # lines whose stored date was rewritten

    def stated_as_of(self, line: LineProjection, *, today: date) -> date:
        """When the line would ship by the suppliers' own dates (no lateness allowed for, every unit
        counted), for the same queue and supply, as if it were `today`.

        Asking as of the day a date was promised tells a real change (a purchase
        order's date, the queue) from the calendar simply moving on: dates that
        rest on "today + N days" (a lead time, an overdue purchase order's grace)
        move on by themselves every day.
        """
        a = self.availability[line.variant_id]
        return a.project_stated(units_ahead=line.units_ahead, quantity=line.waiting, today=today)

    def covered_by_supply(self, line: LineProjection) -> bool:
        """True when free stock and dated open purchase orders cover the line; False: lead-time estimate."""
        a = self.availability[line.variant_id]
        supply = a.free_stock + sum(
            qty
            for _, qty in ordered_incoming(
                a.incoming, today=self.today, overdue_grace_days=a.overdue_grace_days, calendar=a.calendar
            )
        )
        return supply >= line.units_ahead + line.waiting


def backorder_dates_refresh(*, variant_ids: Iterable[int], today: date | None = None) -> int:
    """Recompute the projected date of every waiting line from the queue; returns how many changed.

    Uses the same projection as the availability selector, so a customer's
    order page and the product page agree. Three queries plus one write,
    whatever the number of variants and lines.
    """
    return backorder_dates_reproject(variant_ids=variant_ids, today=today).changed


def backorder_dates_reproject(*, variant_ids: Iterable[int], today: date | None = None) -> DatesRefresh:
    """`backorder_dates_refresh`, returning every waiting line's projection and the numbers behind it.

    The delay checks (orders.delays) compare each projection with the date the
    customer was told, so they never run a projection of their own.
    """
    result, changed = _project(variant_ids=variant_ids, today=today)
    if changed:
        if connection.vendor == "postgresql":
            _expected_dates_write_postgres(changed)
        else:
            _expected_dates_write(changed)
    return result


def backorder_dates_preview(*, variant_ids: Iterable[int], today: date | None = None) -> DatesRefresh:
    """The projection `backorder_dates_reproject` would make now, writing nothing: what a change
    made in the current transaction will do to waiting lines' dates (`orders.delays.delays_preview`)."""
    return _project(variant_ids=variant_ids, today=today)[0]


def _project(
    *, variant_ids: Iterable[int], today: date | None
) -> tuple[DatesRefresh, list[tuple[int, DateRange]]]:
    """Every waiting line's projection, and the (line id, new range) pairs whose stored dates differ."""
    today = today or timezone.localdate()
    availability = availability_for_variants(variant_ids=variant_ids, today=today)
    lines = (
        OrderLine.objects.waiting()
        .filter(variant_id__in=list(availability))
        .order_by("variant_id", *queue_order())
        .values_list("pk", "variant_id", "quantity_backordered", "expected_date", "expected_earliest_date")
    )
    projections: list[LineProjection] = []
    changed: list[tuple[int, DateRange]] = []
    ahead: dict[int, int] = {}
    for pk, variant_id, waiting, old, old_earliest in lines.iterator(chunk_size=5000):
        a = availability[variant_id]
        units_ahead = ahead.get(variant_id, 0)
        new = a.project(units_ahead=units_ahead, quantity=waiting)
        ahead[variant_id] = units_ahead + waiting
        projections.append(
            LineProjection(pk, variant_id, units_ahead, waiting, old, new.confident, new.earliest)
        )
        if (new.earliest, new.confident) != (old_earliest, old):
            changed.append((pk, new))
    return DatesRefresh(
        today=today, availability=availability, lines=projections, changed=len(changed)
    ), changed


def _expected_dates_write(changed: list[tuple[int, DateRange]]) -> None:
    """Store the new expected ranges, [(line id, range)] (ORM; SQLite). PostgreSQL twin below.
    Parity: orders/tests/test_allocation_parity.py::test_python_and_postgres_write_the_same_expected_dates.
    """
    OrderLine.objects.bulk_update(
        [OrderLine(pk=pk, expected_date=r.confident, expected_earliest_date=r.earliest) for pk, r in changed],
        ["expected_date", "expected_earliest_date"],
        batch_size=1000,
    )


def _expected_dates_write_postgres(changed: list[tuple[int, DateRange]]) -> None:
    """`_expected_dates_write` in one statement whatever the number of lines (PostgreSQL).
    Parity: orders/tests/test_allocation_parity.py::test_python_and_postgres_write_the_same_expected_dates.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OrderLine._meta.db_table} l SET expected_date = v.d, expected_earliest_date = v.e "
            "FROM unnest(%s::bigint[], %s::date[], %s::date[]) AS v(id, d, e) WHERE l.id = v.id",
            [[pk for pk, _ in changed], [r.confident for _, r in changed], [r.earliest for _, r in changed]],
        )
