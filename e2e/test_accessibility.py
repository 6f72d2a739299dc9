"""axe-core, run inside Chromium on every customer page of a purchase (home, category listing,
product, cart, checkout, order page): no violation of serious or critical impact."""

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    a_catalog,
    add_to_cart,
    axe_violations,
    browse_to_product,
    fill_checkout,
    place_order,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def test_customer_pages_have_no_serious_or_critical_accessibility_violations(live_shop, browser_session):
    a_catalog(waiting_name="Alpine Tent")
    shop = live_shop()
    page = browser_session.new_page("guest", base_url=shop.url)
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        found[name] = axe_violations(page)

    page.goto("/")
    check("home")
    browse_to_product(page, category="Camping", product="Trail Lantern")
    add_to_cart(page)
    page.go_back()
    page.go_back()
    check("category listing")
    browse_to_product(page, category="Camping", product="Alpine Tent")
    check("product page (on backorder)")
    add_to_cart(page)
    check("cart")
    page.get_by_role("link", name="Go to checkout").click()
    expect(page.get_by_role("heading", name="Checkout", exact=True)).to_be_visible()
    check("checkout")
    page.get_by_role("button", name="Place order").click()  # nothing filled in: the form's errors
    expect(page.get_by_role("alert")).to_contain_text("Your order has not been placed.")
    check("checkout with errors")
    fill_checkout(page, email="ada@example.com")
    place_order(page)
    check("order page")

    problems = [f"{name}: {problem}" for name, page_problems in found.items() for problem in page_problems]
    assert not problems, "serious or critical axe-core violations:\n" + "\n".join(problems)
    browser_session.assert_clean()
