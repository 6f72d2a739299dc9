"""What a stock change announces to the rest of the shop, after it commits.

Stock sits below orders, the outbox's subscribers and the page cache, so it never imports them:
its services send these hooks (config.hooks) with variant ids, and each app that reacts connects
a receiver in its `AppConfig.ready()`. Who listens, today:

| hook | sent by | receivers (connected in) |
|---|---|---|
| `stock_grew(variant_ids)` | a receipt, a positive adjustment or count, a released allocation, once its `AllocationRequest` rows are written | the "stock arrived" task that serves the backorder queue (inventory.apps) |
| `stock_fell(variant_ids)` | a negative adjustment or count, checkout's reservation | the low-stock check task (notifications.apps) |
| `supply_changed(purchase_order_id, variant_ids, cause)` | a purchase order ordered, moved, received short or cancelled | the delay check task, which re-projects the waiting lines' dates (orders.apps) |
| `availability_changed(variant_ids)` | every change above, and every change of the queue (orders' services send it too) | the page cache's tokens (shop.apps); `variant.availability_changed` webhook events (webhooks.apps) |
| `stock_changed(variant_ids)` | every service that changes on-hand or allocated units, once per call, after its writes: an adjustment or count (one or bulk), a receipt, checkout's reservation, a shipment, a released allocation, each batch of the allocation pass | `stock.changed` webhook events (webhooks.apps) |
| `purchase_order_received(purchase_order_id, movement_ids)` | a receipt, after its stock and ledger rows (the movements say what arrived) | `purchase_order.received` webhook events (webhooks.apps) |
| `purchase_order_date_moved(purchase_order_id, date_change_id)` | a purchase order's expected date moved (staff or supplier), after its history row | `purchase_order.date_changed` webhook events (webhooks.apps) |

Anything that must not be lost is a row written in the same transaction before the hook is sent
(`AllocationRequest`, the outbox), so a lost message is finished by a sweep.
"""

from config.hooks import Hook

stock_grew = Hook("inventory.stock_grew")
stock_fell = Hook("inventory.stock_fell")
supply_changed = Hook("inventory.supply_changed")
availability_changed = Hook("inventory.availability_changed")
stock_changed = Hook("inventory.stock_changed")
purchase_order_received = Hook("inventory.purchase_order_received")
purchase_order_date_moved = Hook("inventory.purchase_order_date_moved")
