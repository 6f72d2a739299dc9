"""What every report shares: the shop's day boundaries and week ends, and integer sums that read 0
instead of NULL."""

from datetime import date, datetime, time, timedelta

from django.db.models import IntegerField
from django.db.models.functions import Coalesce
from django.utils import timezone


def local_midnight(day: date) -> datetime:
    """The first instant of `day` in the shop's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def week_end_of(day: date) -> date:
    return day + timedelta(days=6 - day.weekday())


# "Due soon" for purchase orders: today and the 6 days after, so on any weekday it covers a full week
# ("this week" to Sunday covered one day on a Sunday).
DUE_SOON_DAYS = 7


def due_soon_end(day: date) -> date:
    """The last day of the `DUE_SOON_DAYS` starting on `day` (included)."""
    return day + timedelta(days=DUE_SOON_DAYS - 1)


def zero_if_null(expr):
    """`expr` (a sum or a subquery) as an integer, 0 when there is nothing to sum."""
    return Coalesce(expr, 0, output_field=IntegerField())
