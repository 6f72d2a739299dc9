"""`manage.py import_stock_counts FILE`: apply a stock-count CSV (sku, warehouse, counted) with a progress bar.

The same import as the admin page (inventory/console/imports.py): every row is checked
first, then applied in one transaction through the inventory services; any bad
row and nothing is written. For files too large to upload comfortably.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from inventory.console.imports import StockCountFileError, stock_count_import


class Command(BaseCommand):
    help = (
        "Import physical stock counts from a CSV file (columns sku, warehouse, counted). Exits 1 on bad rows."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Path of the CSV file (UTF-8).")
        parser.add_argument("--dry-run", action="store_true", help="Check and preview; change nothing.")
        parser.add_argument(
            "--user", help="Email address of the staff member recorded on the ledger movements."
        )
        parser.add_argument("--note", default="", help="Note recorded on each ledger movement.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs).")

    def handle(
        self, *args, file: str, dry_run: bool, user: str | None, note: str, no_progress: bool, **options
    ):
        user_id = None
        if user:
            found = get_user_model().objects.filter(email__iexact=user, is_staff=True).first()
            if found is None:
                raise CommandError(f"No staff user with the email address {user!r}.")
            user_id = found.pk
        bars: dict[str, tqdm] = {}

        def progress(stage: str, rows: int) -> None:
            if no_progress:
                return
            bar = bars.get(stage)
            if bar is None:
                total = bars["check"].n if stage == "apply" and "check" in bars else None
                label = "Checking" if stage == "check" else ("Previewing" if dry_run else "Importing")
                bar = bars[stage] = tqdm(total=total, desc=label, unit=" rows", file=self.stderr)
            bar.update(rows - bar.n)

        try:
            with open(file, "rb") as source:
                result = stock_count_import(
                    source=source,
                    user_id=user_id,
                    dry_run=dry_run,
                    note=note or "stock count import",
                    progress=progress,
                )
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {file}") from exc
        except StockCountFileError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for bar in bars.values():
                bar.close()

        for error in result.errors:
            self.stdout.write(self.style.ERROR(str(error)))
        if result.error_count:
            more = result.error_count - len(result.errors)
            if more:
                self.stdout.write(self.style.ERROR(f"… and {more} more."))
            raise CommandError(f"{result.error_count} bad row(s): nothing was imported.", returncode=1)
        summary = (
            f"{result.rows} rows: {result.changed} stock levels changed "
            f"(+{result.units_added} / −{result.units_removed} units), {result.unchanged} already right."
        )
        if dry_run:
            self.stdout.write(self.style.WARNING(f"Dry run, nothing changed. {summary}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported. {summary}"))
