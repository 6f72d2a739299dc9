from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks (docs/api.md "Webhooks"): events written with the change, delivered signed."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks"
