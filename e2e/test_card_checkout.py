"""Paying by card through Stripe in Chromium: the card typed into Stripe.js's field (localstripe's
stand-in for it, from the suite's localstripe server), never into the shop's form.

A guest buys a lantern in stock and a tent on backorder with a card that works; another with a card
whose bank asks for 3-D Secure (Stripe's window: "Complete authentication"); another whose card is
declined, which places no order and moves no stock. Screenshots: e2e/screenshots/card/.
"""

import pytest
from playwright.sync_api import expect

from e2e.helpers import SCREENSHOTS_DIR, Screenshots, a_catalog, add_to_cart, fill_checkout
from inventory.models import StockItem, StockMovement
from orders.models import CardCharge, ChargeStatus, Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def card_shop(any_live_shop, stripe_settings, monkeypatch):
    """The live shop with card payments on, pointed at the suite's localstripe (also for gunicorn,
    which reads its settings from the environment)."""
    for name, value in {
        "STRIPE_API_BASE": stripe_settings.base_url,
        "STRIPE_SECRET_KEY": stripe_settings.secret_key,
        "STRIPE_PUBLISHABLE_KEY": stripe_settings.publishable_key,
        "STRIPE_WEBHOOK_SECRET": stripe_settings.webhook_secret,
    }.items():
        monkeypatch.setenv(name, value)
    return any_live_shop()


def to_checkout(page, catalog):
    page.goto("/p/trail-lantern/")
    add_to_cart(page)
    page.goto(f"/p/{catalog.waiting.product.slug}/")
    add_to_cart(page)
    page.get_by_role("link", name="Go to checkout").click()
    fill_checkout(page, email="ada@example.com", test_card=False)
    page.get_by_label("Card (Visa, Mastercard, American Express)").check()


def type_card(page, number):
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")


def place(page):
    page.get_by_label("I accept the backorder terms").check()
    page.get_by_role("button", name="Place order").click()


def test_a_guest_pays_by_card_for_an_in_stock_and_a_backordered_item(card_shop, browser_session):
    catalog = a_catalog()
    shots = Screenshots(folder=SCREENSHOTS_DIR / "card")
    guest = browser_session.new_page("guest", base_url=card_shop.url)
    to_checkout(guest, catalog)
    expect(guest.locator("#card-entry")).to_contain_text("hold")
    type_card(guest, "4242424242424242")
    shots.take(guest, "checkout-card")
    place(guest)
    expect(guest.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    shots.take(guest, "order-paid-by-card")

    order = Order.objects.get()
    payment = order.payment
    assert payment.gateway == "card"
    # What ships now (the lantern, 24.50) and the delivery are held; the tent (180.00) is not.
    assert (
        payment.amount_authorized == order.lines.get(variant=catalog.lantern).unit_price + order.shipping_cost
    )
    (charge,) = CardCharge.objects.all()
    assert charge.status == ChargeStatus.AUTHORIZED
    browser_session.assert_clean()


def test_three_d_secure_at_checkout(card_shop, browser_session):
    catalog = a_catalog()
    guest = browser_session.new_page("guest", base_url=card_shop.url)
    to_checkout(guest, catalog)
    type_card(guest, "4000002500003155")
    place(guest)
    # The bank asks when the card is saved, and again for the payment held now.
    guest.get_by_role("button", name="Complete authentication").click()
    guest.get_by_role("button", name="Complete authentication").click()
    expect(guest.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    assert Order.objects.get().payment.amount_authorized > 0
    browser_session.assert_clean()


def test_a_declined_card_places_no_order_and_moves_no_stock(card_shop, browser_session):
    catalog = a_catalog()
    stock_before = list(StockItem.objects.values_list("pk", "on_hand", "allocated"))
    movements_before = StockMovement.objects.count()
    guest = browser_session.new_page("guest", base_url=card_shop.url)
    to_checkout(guest, catalog)
    type_card(guest, "4000000000000002")
    place(guest)
    expect(guest.locator("#card-errors")).to_contain_text("declined")
    expect(guest.get_by_role("button", name="Place order")).to_be_enabled()
    assert not Order.objects.exists()
    assert list(StockItem.objects.values_list("pk", "on_hand", "allocated")) == stock_before
    assert StockMovement.objects.count() == movements_before
    browser_session.assert_clean()
