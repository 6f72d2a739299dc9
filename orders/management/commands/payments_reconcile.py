"""Check that every payment agrees with its gateway calls, its card charges and its parcels."""

from django.core.management.base import BaseCommand, CommandError

from orders.selectors.payments_reconcile import card_charges_at_stripe, payment_differences


class Command(BaseCommand):
    help = (
        "Compare each order's payment with its transactions, card charges and shipments "
        "(orders/selectors/payments_reconcile.py lists the checks). Exits 1 on any difference."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--stripe",
            action="store_true",
            help="Also compare each card charge with its PaymentIntent at Stripe (one API call per charge).",
        )

    def handle(self, *args, **options) -> None:
        result = payment_differences()
        problems = list(result.differences)
        if options["stripe"]:
            problems += card_charges_at_stripe()
        for problem in problems:
            self.stdout.write(self.style.ERROR(str(problem)))
        if problems:
            orders = len({problem.order_number for problem in problems})
            raise CommandError(f"{len(problems)} difference(s) in {orders} order(s).", returncode=1)
        gateways = ", ".join(f"{count} {gateway}" for gateway, count in sorted(result.payments.items()))
        where = " and at Stripe" if options["stripe"] else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"0 differences: {result.checked} payments ({gateways or 'none'}) match their "
                f"transactions, charges and parcels{where}."
            )
        )
