"""Check that every stock level equals the sum of its ledger movements."""

from django.core.management.base import BaseCommand, CommandError

from inventory.selectors import ledger_discrepancies


class Command(BaseCommand):
    help = "Compare each stock item's on-hand and allocated quantities with its ledger. Exits 1 on any discrepancy."

    def handle(self, *args, **options) -> None:
        problems = ledger_discrepancies()
        for problem in problems:
            self.stdout.write(self.style.ERROR(str(problem)))
        if problems:
            raise CommandError(f"{len(problems)} stock item(s) disagree with the ledger.", returncode=1)
        self.stdout.write(self.style.SUCCESS("0 discrepancies: every stock level matches its ledger."))
