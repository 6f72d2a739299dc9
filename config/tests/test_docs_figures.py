"""Figures the operations and security docs give, checked against the settings and the code.

docs/operations.md once said lost emails were recovered "within a minute" (measured: 102-122 s)
and docs/security.md that the admin login was not throttled (it is): these tests keep the
docs' claims tied to what the settings say and the code does.
"""

from pathlib import Path

from django.conf import settings
from django.urls import resolve

from shop.views import admin_login

DOCS = Path(__file__).resolve().parents[2] / "docs"


def section(path: Path, heading: str) -> str:
    """The text under `heading`, up to the next heading, with its line breaks and indents as spaces."""
    text = path.read_text()
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return " ".join(text[start : end if end != -1 else None].split())


def test_operations_states_the_outbox_recovery_time_the_settings_give():
    grace = settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS
    period = settings.CELERY_BEAT_SCHEDULE["sweep-notifications"]["schedule"]
    redis_dies = section(DOCS / "operations.md", "### Redis dies")

    assert "within a minute" not in redis_dies
    assert f"`NOTIFICATIONS_SWEEP_GRACE_SECONDS` old ({grace})" in redis_dies
    assert f"(every {period:g} s, `sweep-notifications`" in redis_dies
    assert f"**at most {grace + period:g} s** ({grace} + {period:g})" in redis_dies


def test_operations_names_the_setting_the_sweep_reads_with_its_default():
    beat_table = section(DOCS / "operations.md", "### Scheduled by beat")

    assert (
        f"`NOTIFICATIONS_SWEEP_GRACE_SECONDS` ({settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS}) ago"
        in beat_table
    )
    assert "created more than a minute ago" not in beat_table


def test_security_lists_the_admin_login_as_throttled():
    throttling = section(DOCS / "security.md", "## Throttling")

    assert resolve("/admin/login/").func is admin_login  # what the doc says it is
    assert "Not throttled yet" not in throttling
    assert "| log in to the admin (`/admin/login/`, `shop.views.admin_login`) |" in throttling
