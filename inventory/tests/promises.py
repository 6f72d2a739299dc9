"""The promise rules of docs/dates.md restated for tests: the range a test should expect, counted on the
shop's real shipping calendar (weekdays, bank holidays, closures) and the default supplier lateness
(SUPPLIER_DEFAULT_LATE_P50_DAYS, _P90_DAYS), so tests that follow the clock stay exact on any day."""

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from inventory.projection import DateRange
from inventory.selectors.calendar import shipping_calendar
from inventory.selectors.suppliers import supplier_default_lateness


def shipping_day(day: date) -> date:
    """`day` if the shop ships that day, else the next day it does."""
    return shipping_calendar(today=min(day, timezone.localdate())).next_shipping_day(day)


def from_stock(today: date | None = None) -> DateRange:
    """Free stock: the next shipping day from today, at both ends."""
    day = shipping_day(today or timezone.localdate())
    return DateRange(earliest=day, confident=day)


def from_purchase_order(expected: date, today: date | None = None) -> DateRange:
    """A purchase order expected on `expected` from a supplier with the shop's default lateness. An
    overdue one: each end counts on the default lateness while it reaches past today, and
    INVENTORY_OVERDUE_GRACE_DAYS shipping days from today once it does not."""
    today = today or timezone.localdate()
    p50, p90 = supplier_default_lateness()

    def end(late: int) -> date:
        if expected < today and (today - expected).days > late:
            return shipping_calendar(today=today).add_shipping_days(
                today, settings.INVENTORY_OVERDUE_GRACE_DAYS
            )
        return shipping_day(max(expected + timedelta(days=late), today))

    earliest = end(p50)
    return DateRange(earliest=earliest, confident=max(earliest, end(p90)))


def from_lead_time(lead_time_days: int, today: date | None = None) -> DateRange:
    """No purchase order covers it: today + lead time + the default lateness (p50, p90) of a supplier not
    known yet (the variant's supplier's when it has one: docs/dates.md)."""
    today = today or timezone.localdate()
    p50, p90 = supplier_default_lateness()
    return DateRange(
        earliest=shipping_day(today + timedelta(days=lead_time_days + p50)),
        confident=shipping_day(today + timedelta(days=lead_time_days + p90)),
    )
