from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Order emails are rendered by the outbox; tell it how to build their context.
        from .emails import register

        register()
