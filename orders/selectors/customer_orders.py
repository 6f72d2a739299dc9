"""An order as its customer sees it: by ownership or a signed link, and a signed-in customer's history."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from ..models import Order, OrderEvent
from ..tokens import read_order_token


def order_get_for_customer(*, number: str, user, token: str | None) -> Order:
    """The order if `user` owns it or `token` is its valid signed access token; else Http404.

    Staff see orders in the admin, not here. Lines, events and the payment are
    loaded with the order (a constant number of queries).
    """
    queryset = Order.objects.select_related("payment").prefetch_related(
        "lines",
        Prefetch(
            "events",
            queryset=OrderEvent.objects.filter(visible_to_customer=True).order_by("created_at", "pk"),
        ),
    )
    order = queryset.filter(number=number).first()
    if order is None:
        raise Http404("No such order.")
    owns = user is not None and user.is_authenticated and order.user_id == user.pk
    signed = bool(token) and read_order_token(token) == order.number
    if not (owns or signed):
        raise Http404("No such order.")
    return order


def order_list_for_user(*, user) -> QuerySet[Order]:
    """A signed-in customer's orders, newest first."""
    if not user.is_authenticated:
        return Order.objects.none()
    return Order.objects.filter(user=user).prefetch_related("lines").order_by("-placed_at", "-pk")
