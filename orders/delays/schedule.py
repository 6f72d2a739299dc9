"""When a delay notice is due: the sliding quiet period, its cap, and one email per order a day."""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone


def quiet_period() -> timedelta:
    """A notice waits this long after the last slip found for its order (`DELAY_NOTIFY_QUIET_MINUTES`)."""
    return timedelta(minutes=getattr(settings, "DELAY_NOTIFY_QUIET_MINUTES", 30))


def max_wait() -> timedelta:
    """… but never longer than this after its first slip (`DELAY_NOTIFY_MAX_WAIT_MINUTES`)."""
    return timedelta(minutes=getattr(settings, "DELAY_NOTIFY_MAX_WAIT_MINUTES", 240))


def start_of(day: date) -> datetime:
    """Midnight at the start of `day`, shop time."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def next_day_send_time(now: datetime) -> datetime:
    """When an order that already had its delay email today may get the next one."""
    hour = getattr(settings, "DELAY_NOTIFY_NEXT_DAY_HOUR", 8)
    return start_of(timezone.localdate(now) + timedelta(days=1)) + timedelta(hours=hour)
