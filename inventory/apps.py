from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        # Imported here, once the apps are loaded, as Django asks of AppConfig.ready().
        from . import emails, tasks
        from .events import stock_grew

        # The emails to suppliers (inventory.emails) are built by the outbox like every other.
        emails.register()

        # Stock that grew is served to the waiting order lines by the "stock arrived" task.
        stock_grew.connect(tasks.stock_arrived_enqueue)
