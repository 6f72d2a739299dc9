"""In a real browser, against the shop running for real: staff move a purchase order's date in the
admin, the worker emails the waiting customer about the delay, and the customer cancels the delayed
item from the email's link and sees what was cancelled and the amount released."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    a_catalog,
    a_staff_member,
    admin_login,
    admin_open_purchase_order,
    in_words,
    line_row,
    link_after,
    order_as_guest,
    text_of,
)
from inventory.tests.promises import from_purchase_order
from orders.models import Order
from orders.tasks import send_due_delay_notices
from shop.formatting import date_range_in_words

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

EMAIL = "bob@example.com"


def test_a_delay_email_lets_the_customer_cancel_the_delayed_item_in_the_browser(live_shop, browser_session):
    # Given Bob's order of a lantern (in stock) and a camp stove due on a purchase order in 5 days
    catalog = a_catalog(waiting_name="Camp Stove", due_in_days=5)
    a_staff_member()
    shop = live_shop()
    guest = browser_session.new_page("guest", base_url=shop.url)
    number = order_as_guest(guest, email=EMAIL, waiting_name="Camp Stove")
    shop.wait_for_mail(to=EMAIL, subject=f"Order {number} confirmed")

    # When staff move the purchase order 15 days later on its admin page, giving a reason
    new_date = catalog.expected + timedelta(days=15)
    staff = browser_session.new_page("staff", base_url=shop.url)
    admin_login(staff)
    admin_open_purchase_order(staff, catalog.po.reference)
    staff.locator("#id_expected_date").fill(f"{new_date:%d/%m/%Y}")
    staff.locator("#id_date_change_reason").fill("Supplier delay")
    staff.get_by_role("button", name="Save", exact=True).click()
    expect(staff.locator(".messagelist")).to_contain_text("was changed successfully")
    # The worker checks the slip as soon as the change commits (no quiet period here); beat's
    # every-minute tick that sends due notices is not running, so send that tick through the broker.
    send_due_delay_notices.delay()

    # Then Bob gets one delay email with both dates and a link to cancel
    delay = shop.wait_for_mail(
        to=EMAIL, subject=f"Order {number}: sorry, Camp Stove will be later than we said"
    )
    text = text_of(delay)
    # We said the first range's confident end; the new date is the moved range (docs/dates.md)
    said = from_purchase_order(catalog.expected).confident
    moved = from_purchase_order(new_date)
    assert (
        f"  We said: {in_words(said)}\n  New date: {date_range_in_words(moved.earliest, moved.confident)}\n"
        in text
    )

    # When he follows the cancel link: the page shows what would be cancelled and the amount
    cancel_link = link_after(
        text,
        "You pay nothing for what you cancel: the amount reserved on your card for it is released.",
        shop.url,
    )
    guest.goto(cancel_link)
    expect(guest.get_by_role("heading", level=1)).to_have_text("Cancel the delayed items?")
    preview = guest.get_by_role("table")
    expect(preview.get_by_role("row").filter(has_text="Camp Stove")).to_contain_text("1")
    expect(preview.get_by_role("row").filter(has_text="Total you no longer pay")).to_contain_text("€180.00")
    guest.get_by_role("button", name="Cancel these items").click()

    # Then the stove is cancelled and the amount reserved on his card for it released
    released = (
        "You pay nothing for the cancelled items: the €180.00 reserved on your card for them has been "
        "released (your bank may take a few days to show it)."
    )
    expect(guest.get_by_role("heading", level=1)).to_have_text("Your delayed items are cancelled")
    expect(guest.get_by_role("status")).to_contain_text(
        f"We cancelled 1 waiting unit from order {number}. {released}"
    )
    guest.get_by_role("link", name="See my order").click()
    expect(line_row(guest, "Camp Stove").locator(".line-status")).to_have_text("Cancelled")
    expect(line_row(guest, "Trail Lantern")).to_contain_text("Ready to ship")
    order = Order.objects.get(number=number)
    assert sorted(order.lines.values_list("product_name", "quantity_allocated", "quantity_cancelled")) == [
        ("Camp Stove", 0, 1),
        ("Trail Lantern", 1, 0),
    ]

    # And the cancellation is confirmed by email, with the same amount
    cancelled = shop.wait_for_mail(to=EMAIL, subject=f"Order {number}: items cancelled")
    assert released in text_of(cancelled)
    # And the link worked once: opening it again says so
    assert guest.goto(cancel_link).status == 410
    expect(guest.get_by_role("status")).to_contain_text("These delayed items have already been cancelled")

    browser_session.assert_clean()
