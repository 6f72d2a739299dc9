"""In a real browser, against the shop running for real: a guest orders an item in stock and one on
backorder together, staff receive the purchase order in the admin, the worker allocates it, and the
customer follows the email's link to see the new status."""

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    a_catalog,
    a_staff_member,
    add_to_cart,
    admin_login,
    admin_open_purchase_order,
    browse_to_product,
    fill_checkout,
    line_row,
    link_after,
    place_order,
    text_of,
)
from inventory.tests.promises import from_purchase_order
from orders.models import Order
from shop.formatting import ships_in_words

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

EMAIL = "ada@example.com"


def test_a_guest_orders_a_backorder_and_follows_the_in_stock_email_after_staff_receive_it(
    live_shop, browser_session
):
    # Given a lantern in stock and a tent sold on backorder, due on a purchase order in 10 days
    catalog = a_catalog(waiting_name="Alpine Tent", due_in_days=10)
    a_staff_member()
    shop = live_shop()
    guest = browser_session.new_page("guest", base_url=shop.url)
    # The tent's range: its purchase order's date + the supplier's default lateness, on shipping days
    # (docs/dates.md), e.g. "expected to ship 21–24 December 2026"
    promise = from_purchase_order(catalog.expected)
    ships = ships_in_words(promise.earliest, promise.confident)

    # When a guest browses from the home page and puts both in the cart
    browse_to_product(guest, category="Camping", product="Trail Lantern")
    add_to_cart(guest)
    browse_to_product(guest, category="Camping", product="Alpine Tent")
    expect(guest.locator(".product-availability")).to_contain_text(ships)
    add_to_cart(guest)

    # Then the cart splits what ships now from what waits, with the date
    expect(line_row(guest, "Trail Lantern")).to_contain_text("1 in stock, ready to ship")
    expect(line_row(guest, "Alpine Tent")).to_contain_text(f"1 on backorder, {ships}")

    # And the checkout shows the backorder terms and the date before anything is paid
    guest.get_by_role("link", name="Go to checkout").click()
    terms = guest.get_by_role("region", name="Backorder terms")
    expect(terms).to_contain_text(f"1 × Alpine Tent: {ships}")
    expect(terms).to_contain_text(
        "paying by card, we reserve the order's amount on your card now and charge each parcel as it ships"
    )
    fill_checkout(guest, email=EMAIL)
    number = place_order(guest)

    # And the confirmation page shows one line ready and one waiting
    expect(line_row(guest, "Trail Lantern")).to_contain_text("Ready to ship")
    expect(line_row(guest, "Alpine Tent")).to_contain_text("Waiting for stock")
    expect(line_row(guest, "Alpine Tent")).to_contain_text(ships)
    order = Order.objects.get(number=number)
    assert order.email == EMAIL
    assert sorted(order.lines.values_list("product_name", "quantity_allocated", "quantity_backordered")) == [
        ("Alpine Tent", 0, 1),
        ("Trail Lantern", 1, 0),
    ]

    # And the confirmation email reaches the SMTP server, with a link back to the order
    confirmation = shop.wait_for_mail(to=EMAIL, subject=f"Order {number} confirmed: some items will follow")
    assert "Some items are on backorder." in text_of(confirmation)

    # When staff sign in to the admin and receive the purchase order on its Receive page
    staff = browser_session.new_page("staff", base_url=shop.url)
    admin_login(staff)
    admin_open_purchase_order(staff, catalog.po.reference)
    staff.get_by_role("link", name="Receive…").click()
    expect(staff.get_by_role("row").filter(has_text=catalog.waiting.sku)).to_contain_text("5")
    staff.get_by_role("button", name="Receive everything outstanding").click()
    expect(staff.locator(".messagelist")).to_contain_text(f"Received 5 units on {catalog.po.reference}")

    # Then the worker allocates a tent to the order and the customer is told it is in stock
    in_stock = shop.wait_for_mail(to=EMAIL, subject=f"Order {number}: your backordered item")
    assert in_stock["Subject"].endswith("in stock")
    text = text_of(in_stock)
    assert "- 1 × Alpine Tent\n" in text
    assert "Everything in your order is now reserved" in text

    # And the email's link opens the order page (no account: a signed link) showing the new status
    guest.goto(link_after(text, "Follow your order:", shop.url))
    expect(guest.get_by_role("heading", level=1)).to_have_text(f"Order {number}")
    # (said once: "Ready to ship", not "Ready to ship / 1 ready to ship")
    expect(line_row(guest, "Alpine Tent").locator(".line-status")).to_have_text("Ready to ship")
    assert sorted(order.lines.values_list("product_name", "quantity_allocated", "quantity_backordered")) == [
        ("Alpine Tent", 1, 0),
        ("Trail Lantern", 1, 0),
    ]

    # And no page, the admin's included, broke the Content-Security-Policy or threw a script error
    browser_session.assert_clean()
    # And exactly two emails went out: the confirmation and the in-stock news
    assert [m["Subject"] for m in shop.mailbox.messages] == [confirmation["Subject"], in_stock["Subject"]]
