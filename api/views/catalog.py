"""Variants with their price and live availability: GET /api/v1/variants/ and /api/v1/variants/{id}/.

Availability is the product page's answer: `inventory.selectors.availability_for_variants`, asked once
for every variant of the page (as `shop.selectors.product_list_attach_availability` asks it for a
product page's variants), and the backorder price is `shop.selectors.variant_backorder_price`, the
price the product page shows and checkout charges for a unit that waits. Queries per page: the
variants with their products, then availability's (its numbers, the open purchase-order lines, the
shop's closures, and the suppliers' habits when a purchase order or supplier is involved), the same
for 1 variant or 200. Error answers (problem details) are documented by api.schema for every endpoint.
"""

from collections.abc import Iterable

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from api.filters.catalog import VariantFilter
from api.scopes import CATALOG_READ
from api.serializers.catalog import VariantSerializer
from inventory.selectors import availability_for_variants
from shop.models import Variant
from shop.selectors import variant_backorder_price

from .base import ApiListView, ApiRetrieveView


def variants_attach_availability(variants: Iterable[Variant]) -> list[Variant]:
    """Set `.availability` and `.backorder_price` on each variant, as the product page does: one
    `availability_for_variants` call for all of them."""
    variants = list(variants)
    availabilities = availability_for_variants(variant_ids=[v.pk for v in variants])
    for variant in variants:
        variant.availability = availabilities[variant.pk]
        variant.backorder_price = variant_backorder_price(variant=variant)
    return variants


class _VariantQuerySet:
    queryset = Variant.objects.select_related("product")
    serializer_class = VariantSerializer
    api_read_scope = CATALOG_READ


class VariantListView(_VariantQuerySet, ApiListView):
    """Every variant (active or not) with its price and the product page's availability, by id. Scope
    catalog:read."""

    filterset_class = VariantFilter
    ordering = "pk"

    @extend_schema(
        summary="Variants with price and live availability",
        responses={200: VariantSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        variants = variants_attach_availability(page)
        return self.get_paginated_response(self.get_serializer(variants, many=True).data)


class VariantDetailView(_VariantQuerySet, ApiRetrieveView):
    """One variant with its price and the product page's availability. Scope catalog:read."""

    @extend_schema(
        summary="One variant with price and live availability",
        responses={200: VariantSerializer},
    )
    def get(self, request, *args, **kwargs):
        (variant,) = variants_attach_availability([self.get_object()])
        return Response(self.get_serializer(variant).data)
