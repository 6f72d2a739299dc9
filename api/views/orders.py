"""The orders endpoints (docs/api.md, "Orders and the backorder queue"): orders with their lines,
amounts and timeline; a variant's backorder queue; and the three actions staff take on an order in the
admin — ship what is ready, cancel waiting units, set priority — through the same services with the same
arguments (orders.admin.shipping, orders.admin.orders, inventory.console.queue).

Reads go through the selectors (`orders_with_amounts`, `order_timeline_for_customer`,
`backorder_queue_page`) in a constant number of queries per page. Every POST is `@idempotent` and hands
its `submission_key` to the service, which claims it in the change's own transaction; a service's
refusal is a 409 with its message (api.errors), and the service rolled back.
"""

from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from inventory.selectors import backorder_queue_page
from orders.models import (
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    PaymentTransaction,
    TransactionKind,
)
from orders.selectors.amounts import orders_with_amounts
from orders.services import order_cancel_backordered, order_set_priority, order_ship
from orders.wording import MoneyReleased

from ..filters.orders import OrderFilter
from ..idempotency import idempotent
from ..pagination import ShopCursorPagination
from ..scopes import ORDERS
from ..serializers.orders import (
    MAX_ID,
    BackorderQueueSerializer,
    CancelResultSerializer,
    CancelWaitingSerializer,
    OrderProblemSerializer,
    OrderSerializer,
    PriorityResultSerializer,
    PrioritySerializer,
    QueueQuerySerializer,
    ShipResultSerializer,
    ShipSerializer,
)
from .base import ApiListView, ApiRetrieveView, ApiView


def problems(*codes: int) -> dict:
    """The problem-details responses of an endpoint, for the schema (api.errors)."""
    return {(code, "application/problem+json"): OrderProblemSerializer for code in codes}


READ_PROBLEMS = (400, 401, 403, 404, 429)
WRITE_PROBLEMS = (400, 401, 403, 404, 409, 422, 429)


def orders_for_api() -> QuerySet[Order]:
    """Orders with what `OrderSerializer` reads, in three queries per page whatever its size: the
    orders with their amounts (SQL annotations) and payment, their lines, their customer-visible events
    (the order page's timeline: `order_get_for_customer` loads the same)."""
    return orders_with_amounts(
        Order.objects.select_related("payment").prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("pk")),
            Prefetch(
                "events",
                queryset=OrderEvent.objects.filter(visible_to_customer=True).order_by("created_at", "pk"),
            ),
        )
    )


def order_id_or_404(number: str) -> int:
    pk = Order.objects.filter(number=number).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(f"No order numbered “{number}”.")
    return pk


def valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class OrderPagination(ShopCursorPagination):
    ordering = "-pk"  # newest first


class OrderListView(ApiListView):
    """Orders, newest first."""

    api_read_scope = ORDERS
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    pagination_class = OrderPagination

    def get_queryset(self):
        return orders_for_api()

    @extend_schema(responses={200: OrderSerializer(many=True), **problems(*READ_PROBLEMS)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderDetailView(ApiRetrieveView):
    """One order by its number, as in the list."""

    api_read_scope = ORDERS
    serializer_class = OrderSerializer
    lookup_field = "number"

    def get_queryset(self):
        return orders_for_api()

    def get_object(self):
        order = self.get_queryset().filter(number=self.kwargs["number"]).first()
        if order is None:
            raise NotFound(f"No order numbered “{self.kwargs['number']}”.")
        return order

    @extend_schema(responses={200: OrderSerializer, **problems(401, 403, 404, 429)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BackorderQueueView(ApiView):
    """A variant's waiting order lines in the order the allocation pass serves them (the staff queue page's
    answer: inventory.selectors.backorder_queue_page), paged by position."""

    api_read_scope = ORDERS

    @extend_schema(
        parameters=[QueueQuerySerializer],
        responses={200: BackorderQueueSerializer, **problems(*READ_PROBLEMS)},
    )
    def get(self, request, variant_id: int):
        params = valid(QueueQuerySerializer, request.query_params.dict())
        number, size = params["page"], params["page_size"]
        if variant_id > MAX_ID:  # no such row, and too big for the database's integer
            raise NotFound("No such variant.")
        queue = backorder_queue_page(variant_id=variant_id, offset=(number - 1) * size, limit=size)
        if queue is None:
            raise NotFound("No such variant.")
        url = request.build_absolute_uri()
        more = number * size < queue.total_lines
        data = {
            "variant_id": variant_id,
            "units_waiting": queue.availability.waiting_backorders,
            "free_stock": queue.availability.free_stock,
            "count": queue.total_lines,
            "next": replace_query_param(url, "page", number + 1) if more else None,
            "previous": (
                None
                if number == 1
                else remove_query_param(url, "page")
                if number == 2
                else replace_query_param(url, "page", number - 1)
            ),
            "results": queue.entries,
        }
        return Response(BackorderQueueSerializer(data).data)


class OrderShipView(ApiView):
    """POST: the admin's "Ship ready items" (orders.services.order_ship): a shipment, the stock leaves,
    exactly its price is captured, the customer is emailed once."""

    api_read_scope = ORDERS
    api_write_scope = ORDERS
    # The admin lets the Warehouse role ship ("add shipment") without "change order" (orders.admin.shipping).
    staff_write_any = ("orders.change_order", "orders.add_shipment")

    @extend_schema(
        request=ShipSerializer,
        responses={201: ShipResultSerializer, **problems(*WRITE_PROBLEMS)},
    )
    @idempotent
    def post(self, request, number: str, *, submission_key: str):
        data = valid(ShipSerializer, request.data)
        order_id = order_id_or_404(number)
        shipment = order_ship(
            order_id=order_id,
            user_id=request.user.pk,
            submission_key=submission_key,
            line_ids=None if "lines" not in data else set(data["lines"]),
        )
        order = orders_for_api().get(pk=order_id)
        captured = PaymentTransaction.objects.filter(
            shipment=shipment, kind=TransactionKind.CAPTURE, success=True
        ).aggregate(total=Sum("amount"))["total"]
        result = {
            "shipment": {
                "id": shipment.pk,
                "created_at": shipment.created_at,
                "currency": order.currency,
                "amount": shipment.amount,
                "captured": captured or Decimal("0.00"),
                "lines": [
                    {"line": line_id, "quantity": qty}
                    for line_id, qty in shipment.lines.order_by("order_line_id").values_list(
                        "order_line_id", "quantity"
                    )
                ],
            },
            "order": order,
        }
        return Response(ShipResultSerializer(result).data, status=status.HTTP_201_CREATED)


class OrderCancelWaitingView(ApiView):
    """POST: cancel units that wait for stock (orders.services.order_cancel_backordered, as staff, as the
    admin's "Cancel backordered quantities"): their price voided or refunded, the customer emailed once."""

    api_read_scope = ORDERS
    api_write_scope = ORDERS

    @extend_schema(
        request=CancelWaitingSerializer,
        responses={200: CancelResultSerializer, **problems(*WRITE_PROBLEMS)},
    )
    @idempotent
    def post(self, request, number: str, *, submission_key: str):
        data = valid(CancelWaitingSerializer, request.data)
        order_id = order_id_or_404(number)
        order_cancel_backordered(
            order_id=order_id,
            quantities=data.get("lines"),  # {line id: units}, or None: every waiting unit
            user_id=request.user.pk,
            by_staff=True,
            submission_key=submission_key,
        )
        order = orders_for_api().get(pk=order_id)
        # What this cancellation did, read back as the admin's action does: the order's latest
        # cancellation and release events, written by the service in this request's transaction.
        cancelled = OrderEvent.objects.filter(order_id=order_id, kind=OrderEventKind.CANCELLED).latest(
            "created_at", "pk"
        )
        refund = OrderEvent.objects.filter(order_id=order_id, kind=OrderEventKind.REFUNDED).latest(
            "created_at", "pk"
        )
        released = MoneyReleased.from_data(refund.data, gateway=None, currency=order.currency)
        result = {
            "cancelled": [
                {"line": int(line_id), "quantity": qty}
                for line_id, qty in sorted(cancelled.data["lines"].items(), key=lambda item: int(item[0]))
            ],
            "released": released,
            "order": order,
        }
        return Response(CancelResultSerializer(result).data)


class OrderPriorityView(ApiView):
    """POST: mark or unmark a priority order (orders.services.order_set_priority): its waiting lines are
    served first by the allocation pass, as from the admin's order list or the staff queue page."""

    api_read_scope = ORDERS
    api_write_scope = ORDERS

    @extend_schema(
        request=PrioritySerializer,
        responses={200: PriorityResultSerializer, **problems(*WRITE_PROBLEMS)},
    )
    @idempotent
    def post(self, request, number: str, *, submission_key: str):
        data = valid(PrioritySerializer, request.data)
        order_id = order_id_or_404(number)
        changed = order_set_priority(
            order_id=order_id,
            is_priority=data["priority"],
            user_id=request.user.pk,
            submission_key=submission_key,
        )
        result = {"number": number, "is_priority": data["priority"], "changed": changed}
        return Response(PriorityResultSerializer(result).data)
