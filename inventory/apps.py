from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        # Imported here, once the apps are loaded, as Django asks of AppConfig.ready().
        from . import tasks
        from .events import stock_grew

        # Stock that grew is served to the waiting order lines by the "stock arrived" task.
        stock_grew.connect(tasks.stock_arrived_enqueue)
