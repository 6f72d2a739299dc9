from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Imported here, once the apps are loaded, as Django asks of AppConfig.ready().
        from . import builders, tasks
        from .services import outbox

        # The stock emails' context builders read the catalog and availability: the outbox's
        # rendering (notifications.emails) is told about them rather than importing them.
        builders.register()
        # The outbox enqueues these tasks after commit; they call the delivery services, and every
        # app calls the outbox, so it does not import them.
        outbox.senders_register(
            one=tasks.send_notification, batch=tasks.send_notifications, runs=tasks.dispatch_notifications
        )
