"""Writes of the catalog import: the upload (`catalog_import_create`) and the worker's part (`catalog_import_run`).

The worker imports the file CHUNK_ROWS rows at a time. Each chunk is one transaction that locks the
job row, checks that the chunk is the next one (`chunks_done`), writes the rows through the
import-export resource (shop/resources.py: each row validated by `full_clean`, in its own savepoint),
records what each line did (CatalogImportLine) and moves the job's progress on. So a task that dies
mid-chunk leaves nothing of that chunk, and a retried or duplicated task skips the chunks already
written: each chunk is written once.

A row that fails validation (an unknown category, a negative price, a slug already taken) is reported
with its line and reason and the other rows are written. A database error on a row that is not a
lost connection or a deadlock is reported the same way: the chunk is imported again without that row.
"""

import csv
import itertools
import logging
import time
from collections.abc import Iterator
from contextlib import closing

import tablib
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from import_export.results import RowResult

from ..events import catalog_import_queued
from .csvfile import KEY_COLUMNS, RESOURCES, CatalogFileError, csv_file_check, csv_rows
from .locks import catalog_import_lock
from .models import CatalogImport, CatalogImportLine, CatalogImportOutcome, CatalogImportStatus

logger = logging.getLogger(__name__)

CHUNK_ROWS = 500
OUTCOMES = {
    RowResult.IMPORT_TYPE_NEW: CatalogImportOutcome.CREATED,
    RowResult.IMPORT_TYPE_UPDATE: CatalogImportOutcome.UPDATED,
    RowResult.IMPORT_TYPE_SKIP: CatalogImportOutcome.UNCHANGED,
}


def catalog_import_create(*, kind: str, upload: UploadedFile, user_id: int | None) -> CatalogImport:
    """Check the uploaded file, store it with a new job and queue the job for a worker (after commit).

    Raises CatalogFileError (nothing stored) when the file cannot be imported at all.
    """
    checked = csv_file_check(kind=kind, source=upload.file)
    with transaction.atomic(durable=True):
        job = CatalogImport.objects.create(
            kind=kind,
            file=upload,
            file_name=upload.name[:255],
            total_rows=checked.rows,
            created_by_id=user_id,
        )
        catalog_import_queued.send(job_id=job.pk)
    return job


def catalog_import_requeue(*, job_id: int) -> CatalogImport:
    """Queue an unfinished job for a worker again (its message lost, its worker gone); harmless when
    a worker has it already: the chunks written are skipped, and one chunk is written at a time."""
    with transaction.atomic():
        job = catalog_import_lock(job_id)
        if not job.is_finished:
            catalog_import_queued.send(job_id=job.pk)
    return job


def catalog_import_run(*, job_id: int, budget_seconds: float | None = None) -> CatalogImport:
    """Import the job's file from its next chunk to its end; nothing when it is finished already.

    With `budget_seconds`, stop after the first chunk that ends past that time and return the job
    still running (the task queues itself again: no task runs into the workers' time limits). Raises
    OperationalError/InterfaceError (lost connection, deadlock, ...) for the task to retry; a file
    that turns out to be unreadable stops the job with the reason (the chunks before it stay).
    """
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    job = CatalogImport.objects.get(pk=job_id)
    if job.is_finished:
        return job
    CatalogImport.objects.filter(pk=job_id, started_at__isnull=True).update(
        status=CatalogImportStatus.RUNNING, started_at=timezone.now()
    )
    try:
        with job.file.open("rb") as stored, closing(csv_rows(stored)) as records:
            header = _header_of(stored)
            chunks = _chunked(records)
            for index, chunk in enumerate(chunks):
                if index >= job.chunks_done:
                    job = _chunk_import(job_id=job_id, index=index, header=header, chunk=chunk)
                    if job.is_finished or (deadline is not None and time.monotonic() > deadline):
                        return job
    except CatalogFileError as exc:
        return _finish(job_id=job_id, status=CatalogImportStatus.FAILED, message=str(exc))
    except FileNotFoundError:
        return _finish(
            job_id=job_id,
            status=CatalogImportStatus.FAILED,
            message="The uploaded file is no longer in the media storage; upload it again.",
        )
    return _finish(job_id=job_id, status=CatalogImportStatus.DONE, message="")


def _header_of(stored) -> list[str]:
    stored.seek(0)
    line = stored.readline().decode("utf-8-sig")
    stored.seek(0)
    return [name.strip() for name in next(csv.reader([line]))]


def _chunked(records: Iterator[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    while chunk := list(itertools.islice(records, CHUNK_ROWS)):
        yield chunk


def _finish(*, job_id: int, status: str, message: str) -> CatalogImport:
    with transaction.atomic():
        job = catalog_import_lock(job_id)
        if not job.is_finished:
            job.status, job.message, job.finished_at = status, message, timezone.now()
            job.save(update_fields=["status", "message", "finished_at"])
    return job


def _chunk_import(*, job_id: int, index: int, header: list[str], chunk: list) -> CatalogImport:
    """Write chunk number `index` (0-based) and record its lines, unless a run did it already."""
    with transaction.atomic():
        job = catalog_import_lock(job_id)
        if job.chunks_done != index or job.is_finished:
            return job
        key_at = header.index(KEY_COLUMNS[job.kind])
        lines: dict[int, CatalogImportLine] = {}
        rows = []
        for line, values in chunk:
            key = values[key_at].strip()[:255] if key_at < len(values) else ""
            if len(values) != len(header):
                lines[line] = _line(
                    job,
                    line,
                    CatalogImportOutcome.FAILED,
                    key,
                    f"{len(values)} values, but the header names {len(header)} columns.",
                )
            else:
                rows.append((line, key, values))
        lines |= _rows_import(job=job, header=header, rows=rows)
        CatalogImportLine.objects.bulk_create(sorted(lines.values(), key=lambda item: item.line))
        counted = {outcome: 0 for outcome in CatalogImportOutcome.values}
        for item in lines.values():
            counted[item.outcome] += 1
        job.created_count += counted[CatalogImportOutcome.CREATED]
        job.updated_count += counted[CatalogImportOutcome.UPDATED]
        job.unchanged_count += counted[CatalogImportOutcome.UNCHANGED]
        job.failed_count += counted[CatalogImportOutcome.FAILED]
        job.rows_done += len(chunk)
        job.chunks_done = index + 1
        job.status = CatalogImportStatus.RUNNING
        job.save()
    return job


def _line(job: CatalogImport, line: int, outcome: str, key: str, reason: str = "") -> CatalogImportLine:
    return CatalogImportLine(job=job, line=line, outcome=outcome, key=key, reason=reason[:2000])


class _RowFailedInDatabase(Exception):
    """Rolls back the fast pass over a chunk (see `_rows_import`)."""


def _rows_import(*, job: CatalogImport, header: list[str], rows: list) -> dict[int, CatalogImportLine]:
    """Import `rows` (line, key, values) through the resource; the outcome of each line.

    First the whole chunk in one savepoint, its rows without their own (two queries fewer a row).
    If a row meets a database error that is not a validation error, that pass is rolled back and the
    chunk is imported again with a savepoint per row (import-export's, with use_transactions): the
    rows in error are reported failed and the rest is imported again, at most three times.
    """
    try:
        with transaction.atomic():
            result = _import(job, header, rows, savepoint_per_row=False)
            if result.has_errors():
                raise _RowFailedInDatabase
            return _outcomes(job, rows, result, failed={})
    except _RowFailedInDatabase:
        pass
    failed: dict[int, CatalogImportLine] = {}
    for _attempt in range(3):
        pending = [row for row in rows if row[0] not in failed]
        if not pending:
            return failed
        result = _import(job, header, pending, savepoint_per_row=True)
        if not result.has_errors():
            return _outcomes(job, pending, result, failed=failed)
        # Rolled back by import-export: report the rows in error, import the others again.
        for number, errors in result.row_errors():
            line, key, _ = pending[number - 1]
            error = errors[-1].error
            if isinstance(error, (OperationalError, InterfaceError)):
                raise error  # the task retries the chunk
            failed[line] = _line(job, line, CatalogImportOutcome.FAILED, key, _error_text(error))
        for error in result.base_errors:
            raise error.error
    raise DatabaseError(f"rows of catalog import {job.pk} kept failing: {sorted(failed)[:10]}")


def _import(job: CatalogImport, header: list[str], rows: list, *, savepoint_per_row: bool):
    dataset = tablib.Dataset(*[values for _, _, values in rows], headers=header)
    return RESOURCES[job.kind]().import_data(
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=savepoint_per_row,
        rollback_on_validation_errors=False,
    )


def _outcomes(job: CatalogImport, rows: list, result, *, failed: dict) -> dict[int, CatalogImportLine]:
    lines = dict(failed)
    for (line, key, _), row in zip(rows, result.rows, strict=True):
        if row.validation_error is not None:
            reason = _validation_text(row.validation_error)
            lines[line] = _line(job, line, CatalogImportOutcome.FAILED, key, reason)
        else:
            lines[line] = _line(job, line, OUTCOMES[row.import_type], key)
    return lines


# Database constraints' own words ("Constraint “variant_price_not_negative” is violated.") said for staff.
CONSTRAINT_WORDS = {"variant_price_not_negative": "price: must be 0 or more."}


def _validation_text(error) -> str:
    if not hasattr(error, "message_dict"):
        return " ".join(error.messages)
    parts = []
    for field, messages in error.message_dict.items():
        for message in messages:
            said = next((words for name, words in CONSTRAINT_WORDS.items() if f"“{name}”" in message), None)
            parts.append(said or (message if field == "__all__" else f"{field}: {message}"))
    return "; ".join(parts)


def _error_text(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
