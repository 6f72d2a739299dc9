"""What orders' services announce to the layers above them (config.hooks).

| hook | sent by | receivers (connected in) |
|---|---|---|
| `queue_served(variant_ids)` | the "stock arrived" process, after the backorder queues of these variants were served; sent in the worker, outside any transaction, so receivers run at once | back-in-stock waves for the units still free, then the low-stock reset (notifications.apps) |
| `card_charges_created(charge_ids)` | a transaction wrote pending off-session card charges (the allocation pass's follow-up) | the sending task (orders.apps) |
| `queue_reordered(variant_ids, cause)` | staff priority changed the order of a queue | the delay check task (orders.apps) |
| `order_placed(order_id)` | checkout, at the end of the order's transaction (lines, stock and events written) | `backorder.created` and `variant.availability_changed` webhook events (webhooks.apps) |
| `backorders_served(takes)` | each batch of the allocation pass, in the batch's transaction: `takes` is {line id: units allocated}, what the batch's statement returned | `backorder.allocated` and `variant.availability_changed` webhook events (webhooks.apps) |
| `order_shipped(order_id, shipment_id)` | a shipment, after its lines, capture and timeline event | `order.shipped` webhook events (webhooks.apps); the shipment's invoice (invoices.apps) |
| `order_units_cancelled(order_id, order_event_id)` | a cancellation of waiting units (staff, the customer, a delay email's link, a missed need-by date), after its "cancelled" timeline event, which lists the units | `order.cancelled` webhook events (webhooks.apps) |
| `payment_captured(order_id, amount)` | money captured before anything ships, in the capture's transaction: checkout under *pay now* or *a deposit* (after the order's lines), a card charge Stripe reports as paid (the payment link, a Stripe event) | a prepayment invoice (invoices.apps) |
| `payment_refunded(order_id, amount, cancelled)` | a refund recorded on the payment (`cards.card_settle`, `charges._payment_void`, a refund made in Stripe's dashboard), in its transaction: `cancelled` is {line id: units} when a cancellation caused it, else None | a credit note (invoices.apps) |
| `backorder_dates_told(order_id, order_event_id)` | a delay email, after the lines' promised dates and its "delayed" timeline event (old and new dates per line) | `backorder.date_changed` webhook events (webhooks.apps) |

Sent inside the change's transaction like inventory's hooks (only `queue_served` is sent outside one).
"""

from config.hooks import Hook

queue_served = Hook("orders.queue_served")
queue_reordered = Hook("orders.queue_reordered")
card_charges_created = Hook("orders.card_charges_created")
order_placed = Hook("orders.order_placed")
backorders_served = Hook("orders.backorders_served")
order_shipped = Hook("orders.order_shipped")
order_units_cancelled = Hook("orders.order_units_cancelled")
backorder_dates_told = Hook("orders.backorder_dates_told")
payment_captured = Hook("orders.payment_captured")
payment_refunded = Hook("orders.payment_refunded")
