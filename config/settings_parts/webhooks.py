"""Outgoing webhooks (webhooks/, docs/api.md "Webhooks"): timeouts, retries, turning a failing endpoint off.

Part of config/settings.py, included by django-split-settings. Every environment variable it reads
has a row in README.md.
"""

# ruff: noqa: F821  (env, CELERY_BEAT_SCHEDULE come from config/settings.py and settings_parts/workers.py)

from django.core.exceptions import ImproperlyConfigured

# Seconds one request to a receiver may take in all (connecting: 3 s at most). A request that takes
# longer is a failed attempt, retried with backoff; no redirect is ever followed.
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
# An endpoint whose attempts have all failed for this many hours (5 attempts at least) is turned off
# and the staff who may change endpoints are emailed once; its deliveries wait until it is turned on.
WEBHOOK_DISABLE_AFTER_HOURS = env.int("WEBHOOK_DISABLE_AFTER_HOURS", default=24)
# A delivery gives up ("failed", "Send again" in the admin re-queues it) after this many attempts:
# 15 with the backoff schedule is about two days.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=15)
# After staff give an endpoint a new signing secret, the old one signs too, beside it, for this many
# hours, so the receiver can be given the new one without a failed delivery; 0: the new one alone.
WEBHOOK_SECRET_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
if WEBHOOK_SECRET_OVERLAP_HOURS < 0:
    raise ImproperlyConfigured(
        f"WEBHOOK_SECRET_OVERLAP_HOURS={WEBHOOK_SECRET_OVERLAP_HOURS}: must be 0 or more."
    )
for _name, _value in [
    ("WEBHOOK_TIMEOUT_SECONDS", WEBHOOK_TIMEOUT_SECONDS),
    ("WEBHOOK_DISABLE_AFTER_HOURS", WEBHOOK_DISABLE_AFTER_HOURS),
    ("WEBHOOK_MAX_ATTEMPTS", WEBHOOK_MAX_ATTEMPTS),
]:
    if _value < 1:
        raise ImproperlyConfigured(f"{_name}={_value}: must be 1 or more.")

CELERY_BEAT_SCHEDULE["sweep-webhook-deliveries"] = {
    # Endpoints with due deliveries (a lost message, a killed worker, a retry come due): a run each.
    "task": "webhooks.tasks.sweep_webhook_deliveries",
    "schedule": 60.0,
}
