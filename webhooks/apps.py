from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks (docs/api.md "Webhooks"): events written with the change, delivered signed."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Imported here, once the apps are loaded, as Django asks of AppConfig.ready().
        from . import emails, tasks
        from .hooks import deliveries_queued

        # Events written in a change's transaction: their endpoints' delivery tasks after commit.
        deliveries_queued.connect(tasks.webhooks_deliver_enqueue)
        # The staff email of an endpoint turned off after failing (an outbox row, rendered here).
        emails.register()
        # The shop's hooks that become events (webhooks.receivers) are connected below.
        self._connect_event_receivers()

    @staticmethod
    def _connect_event_receivers() -> None:
        """The shop's hooks that become events (webhooks.receivers; docs/api.md, "Event types")."""
        from django.db.models.signals import post_delete, post_save

        from inventory import events as stock_events
        from orders import events as order_events

        from . import receivers
        from .models import WebhookEndpoint

        stock_events.stock_changed.connect(receivers.stock_changed)
        stock_events.availability_changed.connect(receivers.availability_changed)
        stock_events.purchase_order_received.connect(receivers.purchase_order_received)
        stock_events.purchase_order_date_moved.connect(receivers.purchase_order_date_moved)
        order_events.order_placed.connect(receivers.order_placed)
        order_events.backorders_served.connect(receivers.backorders_served)
        order_events.order_shipped.connect(receivers.order_shipped)
        order_events.order_units_cancelled.connect(receivers.order_units_cancelled)
        order_events.backorder_dates_told.connect(receivers.backorder_dates_told)
        # Which event types have subscribers is cached: an endpoint's change forgets it.
        post_save.connect(receivers.subscribed_types_forget, sender=WebhookEndpoint)
        post_delete.connect(receivers.subscribed_types_forget, sender=WebhookEndpoint)
