from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The integration API under /api/v1/ (docs/api.md): keys, scopes, idempotency, the endpoints."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "Integration API"
