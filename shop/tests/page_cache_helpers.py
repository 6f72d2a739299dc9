"""What the page-cache tests (test_page_cache.py: the listing; test_page_cache_pages.py: home and product
page) share: a product to list, and the badges its grid shows."""

import re
from decimal import Decimal

from orders.tests.helpers import give_stock
from shop.tests.factories import ProductFactory, VariantFactory


def product(category, name, *, units=0, price="10.00", **product_fields):
    """A product of one variant named after it (slug and SKU), with `units` in stock."""
    item = ProductFactory(category=category, name=name, slug=name.lower(), **product_fields)
    variant = VariantFactory(product=item, price=Decimal(price), sku=f"{name.upper()}-1")
    if units:
        give_stock(variant, units)
    return variant


def badges(response) -> dict[str, str]:
    """Product name -> its badge text, from the cards of the grid."""
    found = {}
    html = response.content.decode()
    for card in re.findall(r'<article class="card h-100 product-card">(.*?)</article>', html, re.S):
        name = re.search(r'class="stretched-link text-decoration-none" href="[^"]*">([^<]*)</a>', card)[1]
        badge = re.search(r'<span class="badge availability-badge [^"]*">([^<]*)</span>', card)
        found[name] = badge[1] if badge else ""
    return found
