"""Shared test helpers for orders: stock and checkout through the real services."""

import html
import re
import uuid

from inventory.models import BackorderMode
from inventory.services import stock_adjust
from inventory.tests.factories import BackorderPolicyFactory, WarehouseFactory
from orders.services import order_place

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
ADDRESS = {
    "full_name": "Ada Lovelace",
    "address_line1": "12 Analytical Row",
    "city": "London",
    "postcode": "N1 9GU",
    "country": "GB",
}


def give_stock(variant, quantity, warehouse=None):
    warehouse = warehouse or WarehouseFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=quantity)
    return warehouse


def allow_backorders(variant, **kwargs):
    return BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, **kwargs)


def place(items, *, email="ada@example.com", card=GOOD_CARD, accept=True, key=None, policy="split", **kwargs):
    return order_place(
        items=[(variant.pk, qty) for variant, qty in items],
        email=email,
        address=ADDRESS,
        shipping_method="standard",
        ship_policy=policy,
        payment_method="test_card",
        card_number=card,
        accept_backorder_terms=accept,
        idempotency_key=key or uuid.uuid4().hex,
        **kwargs,
    )


def timeline_of(page: str) -> list[tuple[str, str, str]]:
    """The order page's timeline as (title, when, detail) per entry, tags removed."""

    def text(fragment: str) -> str:
        return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment)).strip())

    items = re.findall(
        r"<li[^>]*>(.*?)</li>", page.split('class="list-group order-timeline"', 1)[-1].split("</ol>")[0], re.S
    )
    entries = []
    for item in items:
        title = re.search(r'<strong class="timeline-title">(.*?)</strong>', item, re.S)
        when = re.search(r"<time[^>]*>(.*?)</time>", item, re.S)
        detail = re.search(r'<span class="timeline-detail">(.*?)</span>', item, re.S)
        entries.append((text(title.group(1)), text(when.group(1)), text(detail.group(1)) if detail else ""))
    return entries
