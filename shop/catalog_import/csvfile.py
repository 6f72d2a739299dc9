"""Reading an uploaded catalog CSV file: its header, its rows with their line numbers, clear errors.

The whole file is read once at upload (`csv_file_check`), so a file that is not UTF-8 CSV, lacks
the key column or names a column the import does not know is refused on the upload page, with
the reason, before any job exists. The worker reads it again with `csv_rows`.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..resources import ProductResource, VariantResource
from .models import CatalogImportKind

MAX_FILE_BYTES = 50 * 1024 * 1024  # about 400,000 product rows of the export's shape
RESOURCES = {CatalogImportKind.PRODUCTS: ProductResource, CatalogImportKind.VARIANTS: VariantResource}
KEY_COLUMNS = {CatalogImportKind.PRODUCTS: "slug", CatalogImportKind.VARIANTS: "sku"}


NOT_UTF8 = "The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8” and upload it again."


class CatalogFileError(ValueError):
    """The file cannot be imported at all; the message says why (and where) in words for staff."""


@dataclass(frozen=True)
class CheckedFile:
    header: list[str]
    rows: int


def columns_for(kind: str) -> list[str]:
    """The columns an import of `kind` reads: those of its export."""
    return list(RESOURCES[kind]._meta.fields)


def csv_rows(source: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """(line number, values) of each record after the header, from the start of `source`.

    The header is line 1; a record's number is the line it starts on (a quoted value may span
    lines). Blank lines are skipped. Raises CatalogFileError for text that is not UTF-8 or
    broken CSV, naming the line.
    """
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    line = 1
    try:
        for values in reader:
            start, line = line, reader.line_num + 1
            if start == 1 or not any(v.strip() for v in values):
                continue
            yield start, values
    except UnicodeDecodeError:
        raise CatalogFileError(NOT_UTF8) from None
    except csv.Error as exc:
        raise CatalogFileError(f"Line {line} is not valid CSV: {exc}.") from None
    finally:
        if not text.closed:
            text.detach()  # leave `source` open for the caller


def _header(source: BinaryIO) -> list[str]:
    first = source.readline(64 * 1024)
    if not first.strip():
        raise CatalogFileError("The file is empty: the first line must name the columns.")
    try:
        line = codecs.decode(first, "utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogFileError(NOT_UTF8) from None
    try:
        [header] = list(csv.reader([line]))
    except (csv.Error, ValueError):
        raise CatalogFileError("The first line is not a CSV header.") from None
    return [name.strip() for name in header]


def csv_file_check(*, kind: str, source: BinaryIO) -> CheckedFile:
    """Check the whole file before a job is made for it; return its header and how many rows it has."""
    source.seek(0)
    header = _header(source)
    known = columns_for(kind)
    label = CatalogImportKind(kind).label.lower()
    unknown = [name for name in header if name not in known]
    if unknown:
        raise CatalogFileError(
            f"Unknown column(s): {', '.join(unknown) or '(an empty name)'}. A file of {label} has the "
            f"columns {', '.join(known)} (export one to see them)."
        )
    if len(set(header)) != len(header):
        raise CatalogFileError("A column is named twice in the first line.")
    if KEY_COLUMNS[kind] not in header:
        raise CatalogFileError(
            f"The column “{KEY_COLUMNS[kind]}” is missing: each row of {label} is found by it."
        )
    source.seek(0)
    for number, raw in enumerate(source, start=1):
        try:
            raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise CatalogFileError(f"Line {number} is not UTF-8 text. {NOT_UTF8.split('. ', 1)[1]}") from None
    source.seek(0)
    rows = sum(1 for _ in csv_rows(source))
    source.seek(0)
    if rows == 0:
        raise CatalogFileError("The file has a header but no rows.")
    return CheckedFile(header=header, rows=rows)
