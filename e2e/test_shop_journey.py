"""One journey through the shop, as its customers and staff live it, in Chromium against the running
shop, with a screenshot of every page at 1280 px and 390 px (e2e/screenshots/):

1. a guest buys a lantern in stock and a tent on backorder: product pages, cart, checkout with the
   backorder terms, the order page;
2. the confirmation email reaches the SMTP server: order number, both items, the tent's date;
3. a shopper asks "Notify me" for trekking poles that are out of stock (and confirms by email);
   staff sign in to the admin and restock them from Stock levels (search the SKU, "Add stock");
4. the back-in-stock email arrives exactly once; its one-click unsubscribe (RFC 8058 POST) and its
   unsubscribe page both work;
5. staff move the tent's purchase order later; the guest's delay email arrives and its "keep
   waiting" link works once;
6. staff receive the purchase order and ship the order from the order list; the shipment email and
   the captured amount on the admin order page match what shipped.

Runs in both of CI's runs (`any_live_shop`): with PostgreSQL and Redis, gunicorn and a real Celery
worker; on SQLite, the live-server thread with tasks run eagerly. Either way the emails go through
a real SMTP server.
"""

import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    STAFF_EMAIL,
    STAFF_PASSWORD,
    Screenshots,
    a_catalog,
    a_staff_member,
    add_to_cart,
    admin_open_purchase_order,
    fill_checkout,
    in_words,
    line_row,
    link_after,
    place_order,
    text_of,
    wait_until,
)
from inventory.tests.promises import from_purchase_order
from notifications.models import BackInStockSubscription, EmailPreference
from orders.models import DelayNotice, Order
from orders.tasks import send_due_delay_notices
from shop.formatting import date_range_in_words, money, ships_in_words
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUEST = "ada@example.com"
FAN = "grace@example.com"
POLES_SKU = "POLE-CARBON-130"


def test_a_day_at_the_shop_from_checkout_to_shipment_with_alerts_delays_and_the_admin(
    any_live_shop, browser_session
):
    # Given a lantern in stock, a tent on backorder due in 10 days on a purchase order, trekking
    # poles that were never stocked (out of stock, no backorders), and a member of staff
    catalog = a_catalog(waiting_name="Alpine Tent", due_in_days=10)
    VariantFactory(
        product=ProductFactory(
            name="Trekking Poles", slug="trekking-poles", category=catalog.lantern.product.category
        ),
        sku=POLES_SKU,
        price=Decimal("59.00"),
    )
    a_staff_member()
    shop = any_live_shop()
    shots = Screenshots()
    # The tent's range: its purchase order's date + the supplier's default lateness, on shipping days;
    # the promise recorded is its confident end (docs/dates.md)
    promise = from_purchase_order(catalog.expected)
    ships = ships_in_words(promise.earliest, promise.confident)  # "expected to ship 21–24 December 2026"
    expected = in_words(promise.confident)

    # --- 1. a guest buys one item in stock and one on backorder ----------------------------------
    guest = browser_session.new_page("guest", base_url=shop.url)
    guest.goto("/p/trail-lantern/")
    expect(guest.locator(".product-availability")).to_contain_text("In stock")
    shots.take(guest, "product-in-stock")
    add_to_cart(guest)
    guest.goto("/p/alpine-tent/")
    expect(guest.locator(".product-availability")).to_contain_text(f"Available on backorder, {ships}")
    shots.take(guest, "product-backorder")
    add_to_cart(guest)
    expect(line_row(guest, "Trail Lantern")).to_contain_text("1 in stock, ready to ship")
    expect(line_row(guest, "Alpine Tent")).to_contain_text(f"1 on backorder, {ships}")
    shots.take(guest, "cart")

    guest.get_by_role("link", name="Go to checkout").click()
    terms = guest.get_by_role("region", name="Backorder terms")
    expect(terms).to_contain_text(f"1 × Alpine Tent: {ships}")
    fill_checkout(guest, email=GUEST)
    guest.get_by_label("I accept the backorder terms").check()
    shots.take(guest, "checkout")
    number = place_order(guest)
    expect(line_row(guest, "Trail Lantern")).to_contain_text("Ready to ship")
    expect(line_row(guest, "Alpine Tent")).to_contain_text("Waiting for stock")
    expect(line_row(guest, "Alpine Tent")).to_contain_text(ships)
    shots.take(guest, "order-placed")
    order = Order.objects.get(number=number)

    # --- 2. the confirmation email ---------------------------------------------------------------
    confirmation = shop.wait_for_mail(to=GUEST, subject=f"Order {number} confirmed: some items will follow")
    text = text_of(confirmation)
    assert f"Thank you for your order {number}." in text
    assert "- 1 × Trail Lantern, €24.50\n" in text
    assert f"- 1 × Alpine Tent, €180.00\n  1 waiting for stock, {ships}\n" in text
    assert f"Total: {money(order.total)}\n" in text

    # --- 3. a shopper asks to be told about the poles; staff restock them in the admin -----------
    shopper = browser_session.new_page("shopper", base_url=shop.url)
    shopper.goto("/p/trekking-poles/")
    expect(shopper.locator(".product-availability")).to_contain_text("Out of stock")
    shopper.get_by_label("Your email address").fill(FAN)
    shots.take(shopper, "product-out-of-stock-notify-me")
    shopper.get_by_role("button", name="Notify me").click()
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    shots.take(shopper, "notify-me-check-inbox")
    ask = shop.wait_for_mail(to=FAN, subject="Confirm your back-in-stock alert for Trekking Poles")
    shopper.goto(
        link_after(text_of(ask), "To confirm, open this link and press the button on the page:", shop.url)
    )
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Confirm your back-in-stock alert")
    shots.take(shopper, "notify-me-confirm")
    shopper.get_by_role("button", name="Confirm my alert").click()
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Your alert is confirmed")
    shots.take(shopper, "notify-me-confirmed")

    staff = browser_session.new_page("staff", base_url=shop.url)
    staff.goto("/admin/")
    staff.locator("#id_username").fill(STAFF_EMAIL)
    staff.locator("#id_password").fill(STAFF_PASSWORD)
    shots.take(staff, "admin-login")
    staff.get_by_role("button", name="Log in").click()
    expect(staff.get_by_role("heading", name="Shop administration")).to_be_visible()
    shots.take(staff, "admin-home")
    staff.get_by_role("link", name="Stock levels", exact=True).first.click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Stock levels")
    staff.locator("#searchbar").fill(POLES_SKU)
    staff.locator("#searchbar").press("Enter")
    unstocked = staff.locator("#unstocked-matches").get_by_role("row").filter(has_text=POLES_SKU)
    expect(unstocked).to_contain_text("Trekking Poles")
    shots.take(staff, "admin-stock-search")
    unstocked.get_by_role("link", name="Add stock").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Add stock")
    expect(staff.locator("#content-main")).to_contain_text("Main warehouse: no stock yet")
    staff.get_by_label("Units to add").fill("4")
    staff.get_by_label("Note").fill("First delivery from the supplier")
    shots.take(staff, "admin-add-stock")
    staff.get_by_role("button", name="Add stock").click()
    expect(staff.locator(".messagelist")).to_contain_text(
        f"{POLES_SKU} at Main warehouse: 4 units added; now 4 on hand, 0 set aside for orders, 4 free."
    )
    shots.take(staff, "admin-stock-added")

    # --- 4. the back-in-stock email, once; unsubscribing by one click and by its page -----------
    back = shop.wait_for_mail(to=FAN, subject="Back in stock: Trekking Poles")
    text = text_of(back)
    assert f"SKU: {POLES_SKU}\n" in text
    assert back["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = " ".join(back["List-Unsubscribe"].split()).strip("<>")
    assert one_click.startswith(f"{shop.url}/")
    # RFC 8058: the mail client POSTs this body to the header's URL, with no cookie and no CSRF token
    request = urllib.request.Request(one_click, data=b"List-Unsubscribe=One-Click", method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 200
    assert EmailPreference.objects.get(email=FAN).marketing_opt_out
    assert not BackInStockSubscription.objects.filter(
        email=FAN, status__in=["unconfirmed", "active"]
    ).exists()
    # The link in the email's text, opened after the one-click unsubscribe, says it is done already
    # (no button to press again) and offers the way back
    shopper.goto(link_after(text, "Unsubscribe from alerts like this:", shop.url))
    expect(shopper.get_by_role("heading", level=1)).to_have_text("You're already unsubscribed")
    expect(shopper.get_by_role("button", name="Unsubscribe")).to_have_count(0)
    expect(shopper.get_by_role("link", name="Ask for an alert again")).to_be_visible()
    shots.take(shopper, "already-unsubscribed")

    # --- 5. staff move the tent's purchase order later; the guest keeps waiting ------------------
    new_date = catalog.expected + timedelta(days=12)
    admin_open_purchase_order(staff, catalog.po.reference)
    staff.locator("#id_expected_date").fill(f"{new_date:%d/%m/%Y}")
    staff.locator("#id_date_change_reason").fill("Supplier delay")
    shots.take(staff, "admin-purchase-order-new-date")
    staff.get_by_role("button", name="Save", exact=True).click()
    expect(staff.locator(".messagelist")).to_contain_text("was changed successfully")
    shots.take(staff, "admin-purchase-orders-saved")
    # The worker finds the slip once the change commits; there is no beat here, so send its
    # every-minute tick that emails the delay notices now due (no quiet period in tests).
    wait_until(lambda: DelayNotice.objects.filter(order=order).exists(), "the delay is found")
    send_due_delay_notices.delay()
    delay = shop.wait_for_mail(
        to=GUEST, subject=f"Order {number}: sorry, Alpine Tent will be later than we said"
    )
    text = text_of(delay)
    moved = from_purchase_order(new_date)
    assert (
        f"  We said: {expected}\n  New date: {date_range_in_words(moved.earliest, moved.confident)}\n" in text
    )
    keep = link_after(text, "We will only write again if the date moves again.", shop.url)
    guest.goto(keep)
    expect(guest.get_by_role("heading", level=1)).to_have_text("Keep waiting for your items?")
    shots.take(guest, "delay-keep-waiting")
    guest.get_by_role("button", name="Yes, I'll keep waiting").click()
    expect(guest.get_by_role("heading", level=1)).to_have_text("Thank you for your patience")
    shots.take(guest, "delay-kept-waiting")
    assert DelayNotice.objects.get(order=order).choice == "keep_waiting"
    # The link works once: opened again it says it was used, and changes nothing
    assert guest.goto(keep).status == 410
    expect(guest.get_by_role("status")).to_contain_text("You told us you would keep waiting")
    shots.take(guest, "delay-link-used")

    # --- 6. staff receive the tents and ship the order ------------------------------------------
    admin_open_purchase_order(staff, catalog.po.reference)
    staff.get_by_role("link", name="Receive…").click()
    expect(staff.get_by_role("row").filter(has_text=catalog.waiting.sku)).to_contain_text("5")
    shots.take(staff, "admin-purchase-order-receive")
    staff.get_by_role("button", name="Receive everything outstanding").click()
    expect(staff.locator(".messagelist")).to_contain_text(f"Received 5 units on {catalog.po.reference}")
    shots.take(staff, "admin-purchase-order-received")
    in_stock = shop.wait_for_mail(to=GUEST, subject=f"Order {number}: your backordered item is in stock")
    assert "Everything in your order is now reserved" in text_of(in_stock)

    staff.goto("/admin/")
    staff.locator("tr.model-order").get_by_role("link", name="Orders", exact=True).click()
    staff.get_by_role("row").filter(has_text=number).get_by_role("checkbox").check()
    staff.locator("select[name=action]").select_option(label="Ship ready items")
    shots.take(staff, "admin-orders-ship")
    staff.get_by_role("button", name="Go").click()
    # What shipped, priced as the guest saw it: both items, and the shipping with the first parcel
    order.refresh_from_db()
    shipping = order.shipping_cost
    assert shipping == Decimal("4.90")
    shipped_amount = Decimal("24.50") + Decimal("180.00") + shipping
    expect(staff.locator(".messagelist")).to_contain_text(
        f"{number}: shipped 2 units (shipment #"
        f"{order.shipments.get().pk}); captured {money(shipped_amount, plain=True)}, "
        f"including {money(shipping, plain=True)} shipping."
    )
    shots.take(staff, "admin-orders-shipped")
    staff.get_by_role("link", name=number, exact=True).click()
    amounts = staff.locator("table.order-amounts")
    expect(amounts.get_by_role("row").filter(has_text="Shipped (captured)")).to_contain_text(
        money(shipped_amount, plain=True)
    )
    expect(amounts.get_by_role("row").filter(has_text="Outstanding")).to_contain_text("0.00 EUR")
    shots.take(staff, "admin-order")

    shipped = shop.wait_for_mail(to=GUEST, subject=f"Order {number}: your order is on its way")
    text = text_of(shipped)
    assert "In this parcel:\n" in text
    assert "- 1 × Trail Lantern\n" in text
    assert "- 1 × Alpine Tent\n" in text
    assert (
        f"{money(shipped_amount)} has been charged to your card for this parcel, "
        f"including {money(shipping)} shipping." in text
    )
    guest.goto(link_after(text, "Follow your order:", shop.url))
    expect(guest.get_by_role("heading", level=1)).to_have_text(f"Order {number}")
    expect(line_row(guest, "Alpine Tent").locator(".line-status")).to_have_text("Shipped")
    shots.take(guest, "order-shipped")

    # And every email went out once: the guest's four, the shopper's confirmation and alert
    assert sorted((m["To"], m["Subject"]) for m in shop.mailbox.messages) == sorted(
        [
            (GUEST, confirmation["Subject"]),
            (GUEST, delay["Subject"]),
            (GUEST, in_stock["Subject"]),
            (GUEST, shipped["Subject"]),
            (FAN, ask["Subject"]),
            (FAN, back["Subject"]),
        ]
    )
    browser_session.assert_clean()
