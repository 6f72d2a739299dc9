"""A guest who needs a backordered tent by a date (issue 18 items 5 and 6), in Chromium: the hint as
soon as the date is before what we expect, the warning before paying, ordering anyway once they say
they understand, and the order page's place in the queue. Runs in both of CI's runs (`any_live_shop`)."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from e2e.helpers import a_catalog, add_to_cart, browse_to_product, fill_checkout, in_words, line_row
from inventory.tests.promises import from_purchase_order
from orders.models import Order
from orders.tests.helpers import place


@pytest.mark.django_db(transaction=True)
def test_a_need_by_date_we_cannot_make_is_said_before_paying(any_live_shop, browser_session):
    shop = any_live_shop()
    catalog = a_catalog(due_in_days=10)  # 5 tents arriving in 10 days
    place([(catalog.waiting, 2)], email="someone@example.com")  # waits first, needs no date
    page = browser_session.new_page("guest", base_url=shop.url)
    page.goto("/")
    browse_to_product(page, category="Camping", product="Alpine Tent")
    add_to_cart(page)
    page.get_by_role("link", name="Go to checkout").click()
    fill_checkout(page, email="ada@example.com")
    need = catalog.expected - timedelta(days=3)
    # The latest we expect: the purchase order's date + its supplier's p90 lateness (docs/dates.md)
    latest = from_purchase_order(catalog.expected).confident

    # Typing a date before the one we expect says so at once; a later one does not
    hint = page.locator("#need-by-live")
    expect(hint).to_be_hidden()
    page.get_by_label("I need the waiting items by").fill(need.isoformat())
    expect(hint).to_contain_text(f"That is before {in_words(latest)}")
    page.get_by_label("I need the waiting items by").fill((latest + timedelta(days=1)).isoformat())
    expect(hint).to_be_hidden()

    # Placing the order with the early date: nothing is ordered, the page says why and asks
    page.get_by_label("I need the waiting items by").fill(need.isoformat())
    page.get_by_label("Cancel those items and refund me automatically").check()
    page.get_by_label("I accept the backorder terms").check()
    page.get_by_role("button", name="Place order").click()
    expect(page.locator(".need-by-warning")).to_contain_text(
        f"1 × Alpine Tent is expected by {in_words(latest)}"
    )
    assert not Order.objects.filter(email="ada@example.com").exists()

    # Ticking the box orders it anyway; the order page says the date, and the place in the queue
    page.get_by_label(f"I understand they may arrive after {in_words(need)}").check()
    page.locator("#id_card_number").fill("4242 4242 4242 4242")
    page.get_by_label("I accept the backorder terms").check()
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    expect(page.locator("p.need-by")).to_contain_text(
        f"You need the waiting items by {in_words(need)}. Alpine Tent is expected after it and stays in your order."
    )
    # Needed by a date, it goes before the order that waited first (docs/lifecycle.md, the queue order)
    expect(line_row(page, "Alpine Tent").locator(".queue-place")).to_have_text(
        f"Yours are first in line; 5 arriving about {in_words(latest)}."
    )
    browser_session.assert_clean()
