"""A test-only URLconf: tiny endpoints on the API's shared machinery (auth, scopes, idempotency, errors,
throttling), so its tests do not depend on any one domain's endpoints. Used with
`@pytest.mark.urls("api.tests.probe")`.

The write goes through the real service (inventory's stock_adjust, the staff page's), with the
submission key the Idempotency-Key gives it.
"""

from django.urls import include, path, re_path
from rest_framework import serializers
from rest_framework.response import Response

from api.errors import not_found
from api.idempotency import idempotent
from api.scopes import CATALOG_READ, ORDERS, STOCK_WRITE
from api.views.base import ApiView
from inventory.services.ledger import stock_adjust


class AdjustIn(serializers.Serializer):
    variant_id = serializers.IntegerField()
    warehouse_id = serializers.IntegerField()
    quantity_change = serializers.IntegerField(min_value=-1000, max_value=1000)


class StockProbe(ApiView):
    api_read_scope = CATALOG_READ
    api_write_scope = STOCK_WRITE

    def get(self, request):
        return Response({"ok": True})

    @idempotent
    def post(self, request, *, submission_key):
        data = AdjustIn(data=request.data)
        data.is_valid(raise_exception=True)
        movement = stock_adjust(**data.validated_data, note="API", submission_key=submission_key)
        return Response({"movement": movement.pk, "on_hand_delta": movement.on_hand_delta}, status=201)


class OrdersProbe(ApiView):
    api_read_scope = ORDERS
    api_write_scope = ORDERS

    def get(self, request):
        return Response({"ok": True})

    @idempotent
    def post(self, request, *, submission_key):
        return Response({"ok": True})


class ShipProbe(OrdersProbe):
    staff_write_any = ("orders.change_order", "orders.add_shipment")


class NoScopeProbe(ApiView):
    def get(self, request):
        return Response({"ok": True})


api_patterns = [
    path("stock-probe/", StockProbe.as_view()),
    path("orders-probe/", OrdersProbe.as_view()),
    path("ship-probe/", ShipProbe.as_view()),
    path("no-scope-probe/", NoScopeProbe.as_view()),
    re_path(r"", not_found),
]
urlpatterns = [path("api/v1/", include((api_patterns, "api")))]
