from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    """Invoices and credit notes (docs/tax.md): numbered, immutable documents issued when an order
    ships or money goes back; they listen to orders' hooks, as webhooks do."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "invoices"
    verbose_name = "Invoices and credit notes"
