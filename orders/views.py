"""Customer pages for orders. Every page that shows an order checks ownership or a signed token."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .selectors import order_get_for_customer


def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    token = request.GET.get("token")
    order = order_get_for_customer(number=number, user=request.user, token=token)
    return render(request, "orders/detail.html", {"order": order, "token": token or ""})
