"""The catalog import's one row lock (docs/concurrency.md, "Locks that are never held together")."""

from .models import CatalogImport


def catalog_import_lock(job_id: int) -> CatalogImport:
    """The import job, locked `FOR NO KEY UPDATE` until the caller's transaction ends: one chunk (or the
    job's end) is written at a time, so a duplicated or retried task never writes a chunk twice."""
    return CatalogImport.objects.select_for_update(no_key=True).get(pk=job_id)
