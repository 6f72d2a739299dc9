"""The place-order POST's exact queries: an in-stock and a backordered line, a guest and a customer.

PostgreSQL (the shop's database): the session (+ the user, signed in), the cart's lines with their
variants and products, the shop's closures, availability, open purchase orders (the quote: no VAT
rates for an export to GB), then the transaction: BEGIN, the order with its payment, authorize
transaction, emptied cart, closed subscriptions and outbox row (one statement), the variants locked,
their stock items locked with the units waiting (a variant without stock items: the waiting units on
their own), the lines with the timeline, the allocations with their ledger rows and the stock items'
new numbers (one statement, in stock only), COMMIT. No session write: the "Thank you" banner is a
signed cookie. SQLite writes the same rows one statement each (orders.services.checkout_writes).
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from inventory.models import StockItem, StockMovement
from notifications.models import Notification
from orders.models import CartLine, Order, OrderEvent
from orders.tests.helpers import allow_backorders, give_stock
from orders.tests.test_views import add, checkout_data, issue_key
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"
# (stock, signed in) -> queries of the POST.
PLACE_ORDER_QUERIES = {
    ("in stock", False): 10 if POSTGRES else 19,
    ("in stock", True): 11 if POSTGRES else 20,
    ("backordered", False): 10 if POSTGRES else 17,
    ("backordered", True): 11 if POSTGRES else 18,
}


@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize("stock", ["in stock", "backordered"])
def test_place_order_query_budget(client, django_assert_max_num_queries, stock, signed_in):
    variant = VariantFactory()
    if stock == "in stock":
        give_stock(variant, 3)
    else:
        allow_backorders(variant)
    if signed_in:
        client.force_login(get_user_model().objects.create_user(email="ada@example.com", password="x" * 12))
    add(client, variant, 1)
    key = issue_key(client)
    budget = PLACE_ORDER_QUERIES[stock, signed_in]
    # A stock change elsewhere first: what the stock hooks cache per process for minutes (the webhooks'
    # subscribed event types) is warm, as in a process that has served before.
    give_stock(VariantFactory(), 1)

    with django_assert_max_num_queries(budget) as queries:
        response = client.post(reverse("orders:checkout"), checkout_data(key, country="GB"))

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"].startswith(order.get_absolute_url())
    assert len(queries) == budget
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == ((1, 0) if stock == "in stock" else (0, 1))
    assert order.payment.transactions.count() == 1
    assert CartLine.objects.count() == 0
    assert list(Notification.objects.values_list("dedupe_key", flat=True)) == [f"order-confirmed:{order.pk}"]
    assert OrderEvent.objects.filter(order=order).count() == (2 if stock == "in stock" else 1)
    if stock == "in stock":
        assert StockItem.objects.get(variant=variant).allocated == 1
        assert StockMovement.objects.filter(order_line=line).count() == 1
    # The banner on the order page, once; no session row was written for it.
    page = client.get(response["Location"])
    assert "Thank you for your order!" in page.content.decode()
    assert "Thank you for your order!" not in client.get(response["Location"]).content.decode()


def test_crispy_fields_are_rendered_once_per_state_and_as_crispy_renders_them(monkeypatch):
    """The checkout form's fields come out exactly as crispy renders them, in each language; a field in
    a state seen before is not rendered again, one with a customer's value always is."""
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
    from django.utils import translation

    from orders import crispy
    from orders.forms import CheckoutForm

    initial = {"email": "ada@example.com", "shipping_method": "standard", "ship_policy": "split"}
    for language in ("en", "de"):
        with translation.override(language):
            form = CheckoutForm(initial=initial, requires_terms=True)
            assert {name: str(form[name].crispy) for name in form.fields} == {
                name: str(as_crispy_field(form[name])) for name in form.fields
            }
    rendered = []
    monkeypatch.setattr(crispy, "as_crispy_field", lambda field: rendered.append(field.name) or "")

    with translation.override("de"):
        form = CheckoutForm(initial=initial, requires_terms=True)
        for name in form.fields:
            assert form[name].crispy is not None

    assert rendered == ["email"]  # the only field with a customer's value
