"""Check that every order's invoices and credit notes add up to the money its payment moved."""

from django.core.management.base import BaseCommand, CommandError

from invoices.selectors import documents_reconcile


class Command(BaseCommand):
    help = (
        "Compare each order's invoices and credit notes with its payment (captured - refunded), its "
        "shipments and their own lines, and every number series with its counter "
        "(invoices/selectors/reconcile.py lists the checks). Exits 1 on any difference."
    )

    def handle(self, *args, **options) -> None:
        result = documents_reconcile()
        for problem in result.differences:
            self.stdout.write(self.style.ERROR(str(problem)))
        if result.differences:
            orders = len({p.order_number for p in result.differences if p.order_number})
            raise CommandError(
                f"{len(result.differences)} difference(s) in {orders} order(s) and the number series.",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"0 differences: {result.documents} documents of {result.checked} orders match their "
                "payments, shipments and lines; every number series is gap-free."
            )
        )
