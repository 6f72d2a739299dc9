"""The rows of a catalog import job (shop.catalog_import); imported by shop.models."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class CatalogImportKind(models.TextChoices):
    PRODUCTS = "products", "Products"
    VARIANTS = "variants", "Variants and prices"


class CatalogImportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Stopped"


class CatalogImport(models.Model):
    """One uploaded CSV file and how far its import has come.

    Written by `shop.catalog_import.services` only: created at upload, then by the worker one chunk
    at a time (`chunks_done` says which chunks are written: a retried task skips them).
    """

    kind = models.CharField(max_length=20, choices=CatalogImportKind.choices)
    file = models.FileField(upload_to="imports/catalog/%Y/%m/")
    file_name = models.CharField(max_length=255, help_text="The name of the file as uploaded.")
    status = models.CharField(
        max_length=20, choices=CatalogImportStatus.choices, default=CatalogImportStatus.QUEUED
    )
    message = models.TextField(blank=True, help_text="Why the import stopped, when it did.")
    total_rows = models.PositiveIntegerField(null=True, blank=True, help_text="Counted at upload.")
    rows_done = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "catalog import"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in (CatalogImportStatus.DONE, CatalogImportStatus.FAILED)

    @property
    def percent(self) -> int:
        """How much of the file is imported, 0 to 100 (0 until a worker has counted its rows)."""
        if self.status == CatalogImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.rows_done * 100 // self.total_rows)


class CatalogImportOutcome(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    FAILED = "failed", "Failed"


class CatalogImportLine(models.Model):
    """What one line of the file did; written with its chunk, in the chunk's transaction."""

    job = models.ForeignKey(CatalogImport, on_delete=models.CASCADE, related_name="lines")
    line = models.PositiveIntegerField(help_text="The line of the file (the header is line 1).")
    outcome = models.CharField(max_length=20, choices=CatalogImportOutcome.choices)
    key = models.CharField(max_length=255, blank=True, help_text="The row's slug or SKU.")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "line"]
        constraints = [models.UniqueConstraint(fields=["job", "line"], name="shop_catalogimportline_once")]
        indexes = [models.Index(fields=["job", "outcome", "line"], name="shop_catimportline_outcome")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.outcome}"
