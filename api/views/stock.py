"""Stock per warehouse, the ledger, warehouses; stock adjustments and counts.

Reads: the stock levels (StockItem) as the admin's stock list shows them, and the append-only ledger
(StockMovement) oldest first, so an integration can follow it with `since` and the cursor.

Writes: exactly what the admin's "Adjust stock" and "Record a stock count" pages do
(inventory.admin.stock: `_apply_adjustment`, `_apply_count`): the same service, the same arguments,
the staff member's id as the ledger's user (none for an API key), and the Idempotency-Key's
submission key, claimed in the service's transaction. A refused change (the service's StockError,
e.g. a count below the units set aside for orders) is a 409 with the service's message; nothing is
written.
"""

from django.db import DataError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.errors import Conflict
from api.filters.stock import LedgerFilter, StockItemFilter, WarehouseFilter
from api.idempotency import idempotent
from api.pagination import ShopCursorPagination
from api.scopes import CATALOG_READ, STOCK_WRITE
from api.serializers.stock import (
    LedgerEntrySerializer,
    StockAdjustmentSerializer,
    StockChangeSerializer,
    StockCountSerializer,
    StockItemSerializer,
    WarehouseSerializer,
)
from inventory.forms import ON_HAND_MAX
from inventory.models import StockItem, StockMovement, Warehouse
from inventory.services import stock_adjust, stock_count

from .base import ApiListView, ApiRetrieveView, ApiView


def stock_items() -> QuerySet[StockItem]:
    return StockItem.objects.select_related("variant", "warehouse")


def ledger_entries() -> QuerySet[StockMovement]:
    return StockMovement.objects.select_related(
        "variant", "warehouse", "po_line__purchase_order", "order_line__order", "user"
    )


class LedgerPagination(ShopCursorPagination):
    ordering = ("created_at", "pk")  # oldest first: follow the ledger forward with the cursor


class WarehouseListView(ApiListView):
    """The warehouses, in id order: their ids and codes name them in the stock endpoints. Scope catalog:read."""

    queryset = Warehouse.objects.all()
    serializer_class = WarehouseSerializer
    filterset_class = WarehouseFilter
    api_read_scope = CATALOG_READ

    @extend_schema(
        summary="Warehouses",
        responses={200: WarehouseSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StockItemListView(ApiListView):
    """Stock levels: on hand, set aside for orders (allocated) and available, per variant and warehouse, by id. A variant never stocked in a warehouse has no row there. Scope catalog:read."""

    queryset = stock_items()
    serializer_class = StockItemSerializer
    filterset_class = StockItemFilter
    api_read_scope = CATALOG_READ

    @extend_schema(
        summary="Stock levels per variant and warehouse",
        responses={200: StockItemSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StockItemDetailView(ApiRetrieveView):
    """One stock level. Scope catalog:read."""

    queryset = stock_items()
    serializer_class = StockItemSerializer
    api_read_scope = CATALOG_READ

    @extend_schema(summary="One stock level", responses={200: StockItemSerializer})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class LedgerListView(ApiListView):
    """The stock ledger: every change of on hand and allocated, append-only, oldest first. Follow it with `since` and the `next` link. Scope catalog:read."""

    queryset = ledger_entries()
    serializer_class = LedgerEntrySerializer
    filterset_class = LedgerFilter
    pagination_class = LedgerPagination
    api_read_scope = CATALOG_READ

    @extend_schema(
        summary="The stock ledger, oldest first",
        responses={200: LedgerEntrySerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class LedgerDetailView(ApiRetrieveView):
    """One ledger row. Scope catalog:read."""

    queryset = ledger_entries()
    serializer_class = LedgerEntrySerializer
    api_read_scope = CATALOG_READ

    @extend_schema(summary="One ledger row", responses={200: LedgerEntrySerializer})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _staff_user_id(request) -> int | None:
    """The ledger's user: the staff member signed in, or the key's acting account (api.models.ApiKey)."""
    return request.user.pk


def _answer(*, variant_id: int, warehouse_id: int, movement: StockMovement | None, created: bool) -> Response:
    body = {
        "stock": stock_items().get(variant_id=variant_id, warehouse_id=warehouse_id),
        "ledger_entry": ledger_entries().get(pk=movement.pk) if movement is not None else None,
    }
    return Response(
        StockChangeSerializer(body).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
    )


class StockAdjustmentView(ApiView):
    """Add or remove units on hand, as “Adjust stock” in the admin: a removal may not take units set aside
    for orders (409). Scope stock:write (staff: change stock levels)."""

    api_write_scope = STOCK_WRITE

    @extend_schema(
        summary="Adjust stock (add or remove units, with a reason)",
        request=StockAdjustmentSerializer,
        responses={
            201: OpenApiResponse(
                StockChangeSerializer, description="Applied: the new level and its ledger row."
            ),
        },
    )
    @idempotent
    def post(self, request, *, submission_key: str):
        data = StockAdjustmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        try:
            movement = stock_adjust(
                variant_id=fields["variant"],
                warehouse_id=fields["warehouse"],
                quantity_change=fields["quantity_change"],
                reason=fields["reason"],
                user_id=_staff_user_id(request),
                note=fields["note"],
                submission_key=submission_key,
            )
        except DataError:  # PostgreSQL: on hand beyond its column; the service's transaction rolled back
            raise Conflict(
                detail=f"On hand would exceed {ON_HAND_MAX:,} units, the most a stock level can hold.",
                code="refused",
            ) from None
        return _answer(
            variant_id=fields["variant"],
            warehouse_id=fields["warehouse"],
            movement=movement,
            created=True,
        )


class StockCountView(ApiView):
    """Set on hand to a physical count, as “Record a stock count” in the admin: a count below the units set
    aside for orders is refused (409). Scope stock:write (staff: change stock levels)."""

    api_write_scope = STOCK_WRITE

    @extend_schema(
        summary="Record a stock count (on hand set to the units counted)",
        request=StockCountSerializer,
        responses={
            201: OpenApiResponse(
                StockChangeSerializer, description="On hand changed: the new level and its ledger row."
            ),
            200: OpenApiResponse(
                StockChangeSerializer,
                description="The count matched the records: nothing written, ledger_entry null.",
            ),
        },
    )
    @idempotent
    def post(self, request, *, submission_key: str):
        data = StockCountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        movement = stock_count(
            variant_id=fields["variant"],
            warehouse_id=fields["warehouse"],
            counted=fields["counted"],
            user_id=_staff_user_id(request),
            note=fields["note"],
            submission_key=submission_key,
        )
        return _answer(
            variant_id=fields["variant"],
            warehouse_id=fields["warehouse"],
            movement=movement,
            created=movement is not None,
        )
