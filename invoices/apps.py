from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    """Invoices and credit notes (docs/tax.md): numbered, immutable documents issued when an order
    ships or money goes back; they listen to orders' hooks, as webhooks do."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "invoices"
    verbose_name = "Invoices and credit notes"

    def ready(self) -> None:
        # Imported here, once the apps are loaded, as Django asks of AppConfig.ready().
        from orders import events as order_events

        from . import receivers

        # A document in the transaction of the change it documents (invoices.receivers).
        order_events.order_shipped.connect(receivers.order_shipped)
        order_events.payment_captured.connect(receivers.payment_captured)
        order_events.payment_refunded.connect(receivers.payment_refunded)

        from . import emails, tasks
        from .events import document_issued

        # An issued document's PDF is rendered after commit; a credit note (and a prepayment invoice
        # the confirmation cannot carry) gets its own email, an outbox row in the same transaction.
        # Emails carry the PDFs (invoices.emails).
        document_issued.connect(tasks.document_pdf_enqueue)
        document_issued.connect(emails.document_email_create)
        emails.register()
