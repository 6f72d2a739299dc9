"""What the webhooks' own services announce (config.hooks), so their tasks stay above them.

| hook | sent by | receivers (connected in) |
|---|---|---|
| `deliveries_queued(endpoint_ids)` | `webhook_events_record`, inside the change's transaction | the delivery task, after commit (webhooks.apps) |
"""

from config.hooks import Hook

deliveries_queued = Hook("webhooks.deliveries_queued")
