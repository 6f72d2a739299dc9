from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Imported here, once the apps are loaded, as Django asks of AppConfig.ready().
        from inventory.events import stock_fell
        from orders.events import queue_served

        from . import builders, tasks
        from .services import alerts, outbox, waves

        # The stock emails' context builders read the catalog and availability: the outbox's
        # rendering (notifications.emails) is told about them rather than importing them.
        builders.register()
        # The outbox enqueues these tasks after commit; they call the delivery services, and every
        # app calls the outbox, so it does not import them.
        outbox.senders_register(
            one=tasks.send_notification, batch=tasks.send_notifications, runs=tasks.dispatch_notifications
        )
        # Stock that fell may cross a low-stock threshold: staff are alerted.
        stock_fell.connect(tasks.check_low_stock_enqueue)
        # Once arriving stock has served the backorder queue, units still free go to back-in-stock
        # subscribers (in waves), then a variant back above its threshold is reset for the next alert.
        queue_served.connect(waves.back_in_stock_process)
        queue_served.connect(alerts.low_stock_check)
