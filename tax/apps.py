from django.apps import AppConfig


class TaxConfig(AppConfig):
    """VAT (docs/tax.md): tax classes, the rates staff keep per country with their validity dates, and
    the rules that pick a rate for a line. A rule module below orders: orders and shop read it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "tax"
    verbose_name = "VAT"
