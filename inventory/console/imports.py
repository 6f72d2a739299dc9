"""Stock-count import: a CSV of physical counts applied through `inventory.services`.

The file is read twice, streaming, so memory stays bounded whatever its size
(a 50,000-row file is fine):

1. **Check** every row (columns, SKU, warehouse code, a whole count ≥ 0, no
   location counted twice) in batches, one query per batch to resolve SKUs.
   Any bad row: nothing is written, and the errors are reported with their
   line numbers (the header is line 1, as in a spreadsheet).
2. **Apply** in one transaction, batch by batch, through
   `inventory.services.stock_count_bulk` (ledger reason "counted"; growth
   triggers "stock arrived", so waiting backorders are allocated after
   commit). A count below the units already promised to orders refuses the
   whole file. A dry run does the same work and rolls it back, so its preview
   is exactly what a real run would do.

Kept in memory: the SKUs and counts of one batch, one small integer per
location seen (to find duplicates), and the first PREVIEW_LIMIT changes.
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import transaction

from inventory.models import Warehouse
from inventory.services import CountBelowAllocated, stock_count_bulk
from shop.models import Variant

COLUMNS = ("sku", "warehouse", "counted")
BATCH_SIZE = 1000
MAX_ERRORS = 100
PREVIEW_LIMIT = 200


class StockCountFileError(Exception):
    """The file cannot be read as a stock count at all (encoding, missing columns)."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass(frozen=True)
class PreviewRow:
    line: int
    sku: str
    warehouse: str
    on_hand_before: int
    counted: int

    @property
    def change(self) -> int:
        return self.counted - self.on_hand_before


@dataclass
class StockCountImportResult:
    dry_run: bool
    rows: int = 0
    changed: int = 0
    units_added: int = 0
    units_removed: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    preview: list[PreviewRow] = field(default_factory=list)
    applied: bool = False

    @property
    def unchanged(self) -> int:
        return self.rows - self.changed

    def add_error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(line=line, message=message))


@dataclass(frozen=True)
class _Row:
    line: int
    sku: str
    warehouse: str
    counted: int


class _RollBack(Exception):
    pass


def _read_rows(source: BinaryIO) -> Iterator[tuple[int, dict | None]]:
    """(line number, row dict) for each data row; checks the header once. Detaches, never closes."""
    source.seek(0)
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise StockCountFileError("The file is empty.") from None
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise StockCountFileError(
                f"The first line must name the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}."
            )
        index = {name: header.index(name) for name in COLUMNS}
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) < len(header):
                values = values + [""] * (len(header) - len(values))
            yield reader.line_num, {name: values[i].strip() for name, i in index.items()}
    except UnicodeDecodeError as exc:
        raise StockCountFileError("The file is not UTF-8 text (save it as CSV UTF-8).") from exc
    except csv.Error as exc:
        raise StockCountFileError(f"The file is not valid CSV: {exc}") from exc
    finally:
        text.detach()


def _parse(line: int, raw: dict, result: StockCountImportResult) -> _Row | None:
    problems = []
    if not raw["sku"]:
        problems.append("the SKU is empty")
    if not raw["warehouse"]:
        problems.append("the warehouse code is empty")
    counted = None
    try:
        counted = int(raw["counted"])
    except ValueError:
        problems.append(f"the count “{raw['counted']}” is not a whole number")
    else:
        if counted < 0:
            problems.append(f"the count {counted} is negative")
    if problems:
        result.add_error(line, "; ".join(problems) + ".")
        return None
    return _Row(line=line, sku=raw["sku"], warehouse=raw["warehouse"], counted=counted)


def _batches(
    source: BinaryIO, result: StockCountImportResult, batch_size: int, *, count: bool = False
) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for line, raw in _read_rows(source):
        if count:
            result.rows += 1
        row = _parse(line, raw, result)
        if row is not None:
            batch.append(row)
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def _resolve(batch: list[_Row]) -> dict[str, int]:
    """{sku: variant id} for the SKUs of one batch (one query)."""
    return dict(Variant.objects.filter(sku__in={r.sku for r in batch}).values_list("sku", "pk"))


def stock_count_import(
    *,
    source: BinaryIO,
    user_id: int | None,
    dry_run: bool,
    note: str = "",
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int], None] | None = None,
) -> StockCountImportResult:
    """Check, then apply (or, for a dry run, apply and roll back) a stock-count CSV.

    `source` is a seekable binary file with the columns sku, warehouse (code)
    and counted; other columns are ignored. `progress(stage, rows)` is called
    after each batch with stage "check" or "apply". Raises StockCountFileError
    when the file cannot be read at all; row problems are in `result.errors`.
    """
    result = StockCountImportResult(dry_run=dry_run)
    warehouses = dict(Warehouse.objects.values_list("code", "pk"))
    seen: set[int] = set()
    rows = 0
    for batch in _batches(source, result, batch_size, count=True):
        skus = _resolve(batch)
        for row in batch:
            variant_id, warehouse_id = skus.get(row.sku), warehouses.get(row.warehouse)
            problems = []
            if variant_id is None:
                problems.append(f"no item has the SKU “{row.sku}”")
            if warehouse_id is None:
                problems.append(f"no warehouse has the code “{row.warehouse}”")
            if problems:
                result.add_error(row.line, "; ".join(problems) + ".")
                continue
            key = variant_id << 24 | warehouse_id
            if key in seen:
                result.add_error(row.line, f"{row.sku} at {row.warehouse} is counted twice in this file.")
            seen.add(key)
        rows += len(batch)
        if progress:
            progress("check", result.rows)
    seen.clear()
    if result.error_count or rows == 0:
        if rows == 0 and not result.error_count:
            result.add_error(1, "The file has no rows to import.")
        return result

    codes = {pk: code for code, pk in warehouses.items()}
    try:
        with transaction.atomic():
            done = 0
            for batch in _batches(source, result, batch_size):
                skus = _resolve(batch)
                counts = [(skus[r.sku], warehouses[r.warehouse], r.counted) for r in batch]
                try:
                    changes = stock_count_bulk(counts=counts, user_id=user_id, note=note)
                except CountBelowAllocated as exc:
                    result.add_error(batch[exc.index].line, f"{batch[exc.index].sku}: {exc}")
                    raise _RollBack from exc
                by_key = {(v, w): r for (v, w, _), r in zip(counts, batch, strict=True)}
                for change in changes:
                    result.changed += 1
                    delta = change.counted - change.on_hand_before
                    if delta > 0:
                        result.units_added += delta
                    else:
                        result.units_removed -= delta
                    if len(result.preview) < PREVIEW_LIMIT:
                        row = by_key[(change.variant_id, change.warehouse_id)]
                        result.preview.append(
                            PreviewRow(
                                line=row.line,
                                sku=row.sku,
                                warehouse=codes[change.warehouse_id],
                                on_hand_before=change.on_hand_before,
                                counted=change.counted,
                            )
                        )
                done += len(batch)
                if progress:
                    progress("apply", done)
            if dry_run:
                raise _RollBack
    except _RollBack:
        if result.error_count:
            result.changed = result.units_added = result.units_removed = 0
            result.preview = []
        return result
    result.applied = True
    return result
