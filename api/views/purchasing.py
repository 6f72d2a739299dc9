"""Purchase orders and suppliers: read them, and drive an order from draft to received.

Each POST calls the service the admin's purchase-order pages call (inventory/admin/purchasing.py),
with the same arguments, so it has the same effects: `purchase_order_create` (a draft, as the admin's
add page makes), `purchase_order_mark_ordered` (emails the order to the supplier when it has an email),
`purchase_order_set_expected_date` (kept in the date history; after commit the delay check emails the
customers whose date got later), `purchase_order_receive` (stock in, ledger rows, and the waiting
lines are allocated after commit) and `purchase_order_cancel`. Every POST is `@idempotent` and hands
its submission key to the service, which claims it in its own transaction. A refusal of the service
(receive more than is outstanding, move the date of a received order) is a 409 with its message, and
nothing was written: the service's transaction rolled back.

Queries per request do not grow with the page: the orders with their supplier and warehouse, then
their lines (with the variants' SKUs) and their date history, one query each.
"""

from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.errors import Conflict
from api.filters.purchasing import PurchaseOrderFilter, SupplierFilter
from api.idempotency import idempotent
from api.scopes import PURCHASING
from api.serializers.purchasing import (
    PurchaseOrderCreateSerializer,
    PurchaseOrderEmptySerializer,
    PurchaseOrderExpectedDateSerializer,
    PurchaseOrderReceiveSerializer,
    PurchaseOrderSerializer,
    SupplierSerializer,
)
from inventory.models import PurchaseOrder, PurchaseOrderDateChange, PurchaseOrderLine, Supplier, Warehouse
from inventory.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_mark_ordered,
    purchase_order_receive,
    purchase_order_set_expected_date,
)
from shop.models import Variant

from .base import ApiListView, ApiRetrieveView, ApiView


def purchase_orders_for_api():
    """Purchase orders with everything the API shows, in a fixed number of queries for any number."""
    return PurchaseOrder.objects.select_related("supplier", "warehouse").prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("variant").order_by("pk")),
        Prefetch(
            "date_changes",
            queryset=PurchaseOrderDateChange.objects.select_related("changed_by").order_by(
                "changed_at", "pk"
            ),
        ),
    )


class _PurchasingView:
    api_read_scope = PURCHASING
    api_write_scope = PURCHASING


class PurchaseOrderListView(_PurchasingView, ApiListView):
    queryset = purchase_orders_for_api()
    serializer_class = PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilter
    ordering = "pk"

    @extend_schema(
        summary="Purchase orders with their lines and date history",
        responses={200: PurchaseOrderSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a draft purchase order",
        description="As the admin's add page: a draft, with its lines. Mark it ordered to send it.",
        request=PurchaseOrderCreateSerializer,
        responses={201: PurchaseOrderSerializer},
    )
    @idempotent
    def post(self, request, *, submission_key: str):
        body = PurchaseOrderCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        lines = _one_line_per_variant(data["lines"])
        _refuse_unknown(supplier_id=data["supplier"], warehouse_id=data["warehouse"], variant_ids=lines)
        po = purchase_order_create(
            supplier_id=data["supplier"],
            warehouse_id=data["warehouse"],
            reference=data["reference"],
            lines=lines,
            expected_date=data["expected_date"],
            notes=data["notes"],
            user_id=request.user.pk,
            submission_key=submission_key,
        )
        location = reverse("api:purchase-order-detail", args=[po.pk])
        return Response(
            _purchase_order_data(po.pk), status=status.HTTP_201_CREATED, headers={"Location": location}
        )


def _one_line_per_variant(lines: list[dict]) -> dict[int, int]:
    """{variant_id: quantity}. A variant on two lines is refused (409): an order has one line per
    variant (the admin's lines refuse it too), and adding them up is the caller's decision to make."""
    quantities: dict[int, int] = {}
    for line in lines:
        if line["variant"] in quantities:
            raise Conflict(
                detail=f"Variant {line['variant']} is on two lines; a purchase order has one line per variant.",
                code="refused",
            )
        quantities[line["variant"]] = line["quantity"]
    return quantities


def _refuse_unknown(*, supplier_id: int, warehouse_id: int, variant_ids) -> None:
    """A supplier, warehouse or variant that does not exist is a refusal (409), as the stock endpoints
    answer for an unknown variant or warehouse: the request is well formed, the shop has no such thing."""
    if not Supplier.objects.filter(pk=supplier_id).exists():
        raise Conflict(detail=f"There is no supplier {supplier_id}.", code="refused")
    if not Warehouse.objects.filter(pk=warehouse_id).exists():
        raise Conflict(detail=f"There is no warehouse {warehouse_id}.", code="refused")
    missing = sorted(
        set(variant_ids) - set(Variant.objects.filter(pk__in=variant_ids).values_list("pk", flat=True))
    )
    if missing:
        raise Conflict(detail=f"There is no variant {', '.join(map(str, missing))}.", code="refused")


class PurchaseOrderDetailView(_PurchasingView, ApiRetrieveView):
    queryset = purchase_orders_for_api()
    serializer_class = PurchaseOrderSerializer

    @extend_schema(
        summary="One purchase order with its lines and date history",
        responses={200: PurchaseOrderSerializer},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _purchase_order_data(pk: int) -> dict:
    return PurchaseOrderSerializer(purchase_orders_for_api().get(pk=pk)).data


class _PurchaseOrderActionView(_PurchasingView, ApiView):
    """A POST on one purchase order: 404 if there is none, then the body, then the service."""

    def purchase_order_id(self, pk: int) -> int:
        if not PurchaseOrder.objects.filter(pk=pk).exists():
            raise Http404
        return pk


class PurchaseOrderMarkOrderedView(_PurchaseOrderActionView):
    @extend_schema(
        summary="Mark a draft as ordered (emails it to the supplier)",
        description="As the admin's “Mark as ordered”: its lines are fixed, customers' dates count on its "
        "expected date, and the order is emailed to the supplier if the supplier has a contact email.",
        request=PurchaseOrderEmptySerializer,
        responses={200: PurchaseOrderSerializer},
    )
    @idempotent
    def post(self, request, pk: int, *, submission_key: str):
        po_id = self.purchase_order_id(pk)
        PurchaseOrderEmptySerializer(data=request.data).is_valid(raise_exception=True)
        purchase_order_mark_ordered(
            purchase_order_id=po_id, user_id=request.user.pk, submission_key=submission_key
        )
        return Response(_purchase_order_data(po_id))


class PurchaseOrderCancelView(_PurchaseOrderActionView):
    @extend_schema(
        summary="Cancel a purchase order",
        description="As the admin's “Cancel”: units not yet received are no longer expected; units "
        "received stay in stock. Refused (409) for a received or cancelled order.",
        request=PurchaseOrderEmptySerializer,
        responses={200: PurchaseOrderSerializer},
    )
    @idempotent
    def post(self, request, pk: int, *, submission_key: str):
        po_id = self.purchase_order_id(pk)
        PurchaseOrderEmptySerializer(data=request.data).is_valid(raise_exception=True)
        purchase_order_cancel(purchase_order_id=po_id, user_id=request.user.pk, submission_key=submission_key)
        return Response(_purchase_order_data(po_id))


class PurchaseOrderExpectedDateView(_PurchaseOrderActionView):
    @extend_schema(
        summary="Move the expected date, with a reason",
        description="As the expected-date field of the admin's page: the move is kept in the date history; "
        "after commit the delay check emails each waiting customer whose date got later, once. The same "
        "date again changes nothing. Refused (409) for a received or cancelled order.",
        request=PurchaseOrderExpectedDateSerializer,
        responses={200: PurchaseOrderSerializer},
    )
    @idempotent
    def post(self, request, pk: int, *, submission_key: str):
        po_id = self.purchase_order_id(pk)
        body = PurchaseOrderExpectedDateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        purchase_order_set_expected_date(
            purchase_order_id=po_id,
            expected_date=body.validated_data["expected_date"],
            user_id=request.user.pk,
            reason=body.validated_data["reason"],
            submission_key=submission_key,
        )
        return Response(_purchase_order_data(po_id))


class PurchaseOrderReceiveView(_PurchaseOrderActionView):
    @extend_schema(
        summary="Receive part of a purchase order (`lines`), or everything outstanding (no body)",
        description="As the admin's “Receive” page: on-hand stock grows with one ledger row per line, and "
        "after commit the waiting lines are allocated. Refused (409), receiving nothing, for a draft, a "
        "cancelled or received order, or more units than a line has outstanding.",
        request=PurchaseOrderReceiveSerializer,
        responses={200: PurchaseOrderSerializer},
    )
    @idempotent
    def post(self, request, pk: int, *, submission_key: str):
        po_id = self.purchase_order_id(pk)
        body = PurchaseOrderReceiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        quantities = None
        if "lines" in body.validated_data:
            quantities = _line_quantities(po_id, body.validated_data["lines"])
        purchase_order_receive(
            purchase_order_id=po_id,
            quantities=quantities,
            user_id=request.user.pk,
            submission_key=submission_key,
        )
        return Response(_purchase_order_data(po_id))


def _line_quantities(po_id: int, lines: list[dict]) -> dict[int, int]:
    """{line_id: quantity} from lines named by id or by variant (one line per variant on an order).

    A line id of another order is left to the service, which refuses it; a variant that is not on
    this order has no line to name, and a line named twice (by id, or by id and by variant) is
    ambiguous: both are refused here with the same kind of answer (409).
    """
    line_of_variant = dict(
        PurchaseOrderLine.objects.filter(purchase_order_id=po_id).values_list("variant_id", "pk")
    )
    quantities: dict[int, int] = {}
    for line in lines:
        if "line" in line:
            line_id = line["line"]
        else:
            line_id = line_of_variant.get(line["variant"])
            if line_id is None:
                raise Conflict(
                    detail=f"Variant {line['variant']} is not on this purchase order.", code="refused"
                )
        if line_id in quantities:  # a line named once by id and once by its variant
            raise Conflict(detail=f"Line {line_id} is named twice; name it once.", code="refused")
        quantities[line_id] = line["quantity"]
    return quantities


class SupplierListView(_PurchasingView, ApiListView):
    queryset = Supplier.objects.all()
    serializer_class = SupplierSerializer
    filterset_class = SupplierFilter
    ordering = "pk"

    @extend_schema(
        summary="Suppliers (to map an ERP's suppliers to the shop's ids)",
        responses={200: SupplierSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
