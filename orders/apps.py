from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Order emails are rendered by the outbox; tell it how to build their context.
        from inventory.events import supply_changed

        from . import tasks
        from .emails import register
        from .events import card_charges_created, queue_reordered

        register()
        # A purchase order that was ordered, moved, received short or cancelled changes the dates of
        # the lines waiting for it; so does staff priority: the delay check re-projects them.
        supply_changed.connect(tasks.check_delays_enqueue)
        queue_reordered.connect(tasks.check_delays_enqueue)
        # Off-session card charges written by the allocation pass's follow-up are sent by a worker.
        card_charges_created.connect(tasks.card_charges_enqueue)
