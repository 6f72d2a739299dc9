"""Every write to the webhooks' tables.
- `events`: events and their deliveries, written in the transaction of the change they describe
"""

from .events import Event, webhook_events_record  # noqa: F401
