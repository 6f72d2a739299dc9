"""What the browser tests do and check, step by step: the data they start from, a guest's
shopping and checkout, staff signing in to the admin, reading emails and running axe-core."""

import email.message
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Page, expect

from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory, WarehouseFactory
from orders.tests.helpers import allow_backorders, give_stock
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory

GOOD_CARD = "4242 4242 4242 4242"
STAFF_EMAIL, STAFF_PASSWORD = "lead@example.com", "Receive-the-tents-2026"
AXE_URL = "/__e2e__/axe.min.js"  # served by the browser context (e2e/conftest.py)


@dataclass
class Catalog:
    lantern: object  # in stock
    waiting: object  # sold on backorder, due on `po`
    po: object
    expected: date


def a_catalog(*, waiting_name: str = "Alpine Tent", due_in_days: int = 10) -> Catalog:
    """A Camping category with a lantern in stock and an item sold on backorder, due on a purchase order."""
    camping = CategoryFactory(name="Camping", slug="camping")
    lantern = VariantFactory(
        product=ProductFactory(name="Trail Lantern", slug="trail-lantern", category=camping),
        price=Decimal("24.50"),
    )
    warehouse = WarehouseFactory(name="Main warehouse")
    give_stock(lantern, 10, warehouse)
    waiting = VariantFactory(
        product=ProductFactory(
            name=waiting_name, slug=waiting_name.lower().replace(" ", "-"), category=camping
        ),
        price=Decimal("180.00"),
    )
    allow_backorders(waiting, lead_time_days=30)
    expected = timezone.localdate() + timedelta(days=due_in_days)
    po = PurchaseOrderFactory(warehouse=warehouse, expected_date=expected)
    PurchaseOrderLineFactory(purchase_order=po, variant=waiting, quantity_ordered=5)
    return Catalog(lantern=lantern, waiting=waiting, po=po, expected=expected)


def a_staff_member():
    """A superuser whose password the shop's production hasher (PBKDF2) can check.

    The test settings hash with MD5 for speed, and gunicorn runs the production settings, which
    would not know that hash.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    user = get_user_model().objects.create_superuser(email=STAFF_EMAIL)
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(STAFF_PASSWORD, hasher.salt())
    user.save(update_fields=["password"])
    return user


def in_words(day: date) -> str:
    """A date as the shop's pages and emails write it: "Monday 2 March 2026"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


# --- a guest shopping ----------------------------------------------------------------------------


def browse_to_product(page: Page, *, category: str, product: str) -> None:
    """Home → category → product, by clicking links as a customer would."""
    page.goto("/")
    page.get_by_role("link", name=category, exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(category)
    page.get_by_role("link", name=product, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(product)


def add_to_cart(page: Page) -> None:
    """Press the product page's button ("Add to cart" or "Order on backorder"); lands on the cart."""
    page.locator("form.add-to-cart button[type=submit]").click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()


def fill_checkout(page: Page, *, email: str, test_card: bool = True) -> None:
    """The checkout form, as a guest in London; with `test_card`, paying with the test gateway's
    card that is accepted (card payments through Stripe: e2e/test_card_checkout.py)."""
    page.locator("#id_email").fill(email)
    page.locator("#id_full_name").fill("Ada Lovelace")
    page.locator("#id_address_line1").fill("12 Analytical Row")
    page.locator("#id_city").fill("London")
    page.locator("#id_postcode").fill("N1 9GU")
    page.locator("#id_country").select_option("GB")
    if test_card:
        page.get_by_label("Card (test mode)").check()
        page.locator("#id_card_number").fill(GOOD_CARD)


def place_order(page: Page) -> str:
    """Accept the backorder terms, place the order and return its number from the confirmation page."""
    page.get_by_label("I accept the backorder terms").check()
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    heading = page.get_by_role("heading", level=1).inner_text()
    return re.fullmatch(r"Order (BO-\w+)", heading).group(1)


def order_as_guest(page: Page, *, email: str, waiting_name: str) -> str:
    """The lantern (in stock) and the waiting item, from the home page to a placed order."""
    browse_to_product(page, category="Camping", product="Trail Lantern")
    add_to_cart(page)
    browse_to_product(page, category="Camping", product=waiting_name)
    add_to_cart(page)
    page.get_by_role("link", name="Go to checkout").click()
    fill_checkout(page, email=email)
    return place_order(page)


def line_row(page: Page, product: str):
    """The row of the order page's item table for `product`."""
    return page.get_by_role("row").filter(has_text=product)


# --- staff ---------------------------------------------------------------------------------------


def admin_login(page: Page) -> None:
    page.goto("/admin/")
    page.locator("#id_username").fill(STAFF_EMAIL)
    page.locator("#id_password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Shop administration")).to_be_visible()


def admin_open_purchase_order(page: Page, reference: str) -> None:
    """Admin index → Purchase orders → the order's change page, by clicking links."""
    page.goto("/admin/")
    page.get_by_role("link", name="Purchase orders", exact=True).first.click()
    # The list has loaded (its own heading) before the order's link is clicked, and the change page,
    # the admin's heaviest, may take a while on a machine running the other test workers: a click
    # made while the list was still loading had once gone nowhere in CI.
    expect(page.get_by_role("heading", level=1)).to_have_text("Select purchase order to change")
    page.wait_for_load_state("load")
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=2).filter(has_text=reference)).to_be_visible(timeout=30_000)


# --- email ---------------------------------------------------------------------------------------


def text_of(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
            return text.replace("\r\n", "\n")
    raise AssertionError(f"no text part in {message['Subject']!r}")


def link_after(text: str, label: str, base_url: str) -> str:
    """The link on the line after `label` (or on the same line): the shop's emails put each link there."""
    match = re.search(rf"{re.escape(label)}\s*(\S+)", text)
    assert match, f"no link after {label!r} in:\n{text}"
    link = match.group(1)
    assert link.startswith(f"{base_url}/"), f"{link} does not point at the running shop {base_url}"
    return link


def wait_until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll `condition` (e.g. a query for a row the worker writes) until it is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


# --- screenshots -------------------------------------------------------------------------------

SCREENSHOTS_DIR = Path(__file__).resolve().parent / "screenshots"
# (width, height): a laptop, and a phone (iPhone 12-15 size). Full-page shots, so height is the fold.
WIDE, NARROW = (1280, 800), (390, 844)


@dataclass
class Screenshots:
    """Full-page screenshots of each page a journey visits, at a laptop's and a phone's width, into
    e2e/screenshots/ (not committed): `01-product-1280.png`, `01-product-390.png`, ...

    The 390 px shot is of the same page, resized with `set_viewport_size` (no second trip through
    the flow); the page goes back to 1280 px afterwards. The folder's old shots are removed first,
    so it always holds one run's pictures.
    """

    folder: Path = SCREENSHOTS_DIR
    taken: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    def take(self, page: Page, name: str) -> None:
        # A page can pass the test's checks while its end is still arriving: shoot it once loaded.
        page.wait_for_load_state("load")
        number = len(self.taken) // 2 + 1
        for width, height in (WIDE, NARROW):
            page.set_viewport_size({"width": width, "height": height})
            path = self.folder / f"{number:02d}-{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            self.taken.append(path.name)
        page.set_viewport_size({"width": WIDE[0], "height": WIDE[1]})


# --- accessibility -------------------------------------------------------------------------------


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the current page, one readable line per element."""
    page.wait_for_load_state()  # a page still arriving has no <head> to add the script to
    page.add_script_tag(url=AXE_URL)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in results["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            found.append(
                f"{violation['impact']} {violation['id']} ({violation['help']}): "
                f"{' '.join(node['target'])} — {summary}"
            )
    return found
