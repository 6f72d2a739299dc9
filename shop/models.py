"""Catalog: categories, products and their sellable variants (SKUs)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from imagekit.models import ImageSpecField

from tax.models import TaxClass

from .media import thumbnails


class Category(models.Model):
    """A node in the category tree; `parent` is empty for top-level categories."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Lower numbers are listed first.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(condition=~Q(parent=models.F("pk")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:category", kwargs={"slug": self.slug})


class Product(models.Model):
    """What a customer browses; what they buy is one of its variants."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    is_active = models.BooleanField(default=True, help_text="Inactive products are hidden from customers.")
    is_featured = models.BooleanField(default=False, help_text="Shown on the home page.")
    tax_class = models.CharField(
        "VAT class",
        max_length=10,
        choices=TaxClass.choices,
        default=TaxClass.STANDARD,
        help_text="Which VAT rate applies: the rates per country are in VAT rates (docs/tax.md).",
    )
    image = models.ImageField(
        upload_to="products/",
        blank=True,
        help_text="The main picture: on listing cards, and first on its page.",
    )
    # Thumbnails of `image` at the sizes pages show (shop/media/thumbnails.py); made on save or when missing.
    card_thumbnail = ImageSpecField(source="image", **thumbnails.CARD)
    page_thumbnail = ImageSpecField(source="image", **thumbnails.PAGE)
    strip_thumbnail = ImageSpecField(source="image", **thumbnails.STRIP)
    substitutes = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="substitute_for",
        help_text="Products suggested as alternatives when this one is not available.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["category", "is_active"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:product", kwargs={"slug": self.slug})


class ProductImage(models.Model):
    """One more picture of a product, shown on its page after the main one (`Product.image`)."""

    ALT_TEXT_MAX_LENGTH = 200

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/")
    alt_text = models.CharField(
        max_length=ALT_TEXT_MAX_LENGTH,
        blank=True,
        help_text="What the picture shows, for those who cannot see it; empty: the product's name.",
    )
    position = models.PositiveIntegerField(default=0, help_text="Lower numbers are shown first.")

    page_thumbnail = ImageSpecField(source="image", **thumbnails.PAGE)
    strip_thumbnail = ImageSpecField(source="image", **thumbnails.STRIP)

    class Meta:
        ordering = ["product_id", "position", "pk"]

    def __str__(self) -> str:
        return self.alt_text or self.image.name


class Variant(models.Model):
    """A sellable stock-keeping unit: one combination of options at one price."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField("SKU", max_length=64, unique=True)
    option_values = models.JSONField(
        default=dict,
        blank=True,
        help_text='Options that tell this variant apart, e.g. {"size": "M", "colour": "Blue"}.',
    )
    price = models.DecimalField(max_digits=10, decimal_places=2)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "position", "sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=Decimal("0")), name="variant_price_not_negative"),
        ]

    def __str__(self) -> str:
        label = self.options_label
        return f"{self.product.name} ({label})" if label else self.product.name

    @property
    def options_label(self) -> str:
        """'M / Blue' for a variant with options, '' for a single-variant product."""
        return " / ".join(str(v) for v in self.option_values.values())


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran the periodic heartbeat task.

    Written by `shop.tasks.worker_heartbeat` (scheduled by beat); read by the
    health-check page so operators can tell a live worker from a dead one.
    """

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class SubmissionKey(models.Model):
    """One staff form submission that changed stock or money, claimed by its one-time key.

    Written by `shop.submissions.submission_claim` in the same transaction as the
    change: the unique key makes a second submission of the same form fail, and a
    refused change rolls its claim back with it (docs/concurrency.md).
    """

    key = models.CharField(max_length=64, unique=True)
    action = models.CharField(max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.action} {self.key}"


# The catalog import's job and its lines live with the import (shop/catalog_import/models.py).
from .catalog_import.models import CatalogImport, CatalogImportLine  # noqa: E402, F401
