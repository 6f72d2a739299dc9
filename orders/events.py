"""What orders' services announce to the layers above them (config.hooks).

| hook | sent by | receivers (connected in) |
|---|---|---|
| `queue_served(variant_ids)` | the "stock arrived" process, after the backorder queues of these variants were served; sent in the worker, outside any transaction, so receivers run at once | back-in-stock waves for the units still free, then the low-stock reset (notifications.apps) |
| `card_charges_created(charge_ids)` | a transaction wrote pending off-session card charges (the allocation pass's follow-up) | the sending task (orders.apps) |
| `queue_reordered(variant_ids, cause)` | staff priority changed the order of a queue | the delay check task (orders.apps) |
"""

from config.hooks import Hook

queue_served = Hook("orders.queue_served")
queue_reordered = Hook("orders.queue_reordered")
card_charges_created = Hook("orders.card_charges_created")
