"""`{% vat_note %}` beside prices says what a price includes, in both price modes (the pages that
show it: orders/tests/test_order_vat_pages.py)."""

from django.template import Context, Template


def render_note() -> str:
    return Template("{% load vat_tags %}{% vat_note %}").render(Context())


def test_the_note_follows_the_price_mode(settings):
    settings.SHOP_PRICES_INCLUDE_VAT = True
    assert render_note() == "incl. VAT, plus delivery"
    settings.SHOP_PRICES_INCLUDE_VAT = False
    assert render_note() == "plus VAT and delivery"
