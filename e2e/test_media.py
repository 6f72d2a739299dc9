"""Product pictures in Chromium against the shop running with DEBUG=0 (gunicorn, production settings),
in both media modes: on an S3-compatible object store (moto's server, pages linking to it, the CSP
letting it in) and on the file system (served by the shop itself, shop/media/serve.py).

A product with a main picture and two more: its page shows the gallery (every picture and strip
square actually loaded: naturalWidth > 0), a square of the strip picks a picture, and the listing
card shows its thumbnail; at 1280 px and 390 px, with screenshots in e2e/screenshots/media/.
"""

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from e2e.helpers import NARROW, SCREENSHOTS_DIR, WIDE, Screenshots, axe_violations
from orders.tests.helpers import give_stock
from shop.media.storage_url import media_storage
from shop.models import ProductImage
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from shop.tests.media import KEYS, bucket_new, moto_s3_server, picture_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

# Every <img> of the page: where from, and whether the browser decoded it (0 wide: broken or not loaded).
IMAGES = """sel => [...document.querySelectorAll(sel)].map(img => ({
  src: img.currentSrc, loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth
}))"""


@pytest.fixture(params=["object-store", "file-system"])
def media_mode(request, monkeypatch, settings, tmp_path):
    """The shop about to start (its environment) and this process (its settings, where the test's data
    is written) pointed at the same pictures; returns the mode and where the pictures' URLs start
    (after the shop's own address for the file system)."""
    if request.param == "object-store":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket, url = bucket_new(endpoint)
        monkeypatch.setenv("MEDIA_STORAGE_URL", url)
        monkeypatch.setenv("MEDIA_STORAGE_ACCESS_KEY_ID", KEYS["access_key"])
        monkeypatch.setenv("MEDIA_STORAGE_SECRET_ACCESS_KEY", KEYS["secret_key"])
        settings.STORAGES = {**settings.STORAGES, "default": media_storage(url, **KEYS).storage}
        settings.IMAGEKIT_CACHE_PREFIX = f"imagekit:{bucket}:"
        return request.param, f"{endpoint}/{bucket}/"
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.IMAGEKIT_CACHE_PREFIX = f"imagekit:{tmp_path.name}:"
    return request.param, "/media/"


@pytest.fixture(scope="session")
def s3_endpoint():
    with moto_s3_server() as endpoint:
        yield endpoint


def a_tent_with_three_pictures():
    category = CategoryFactory(name="Tents", slug="tents")
    tent = ProductFactory(name="Ridge Tent", slug="ridge-tent", category=category)
    tent.image.save("ridge-tent.png", ContentFile(picture_bytes((1200, 900), "darkgreen")))
    for position, (name, colour, alt) in enumerate(
        [
            ("ridge-tent-door.png", "darkorange", "The door, open"),
            ("ridge-tent-pegs.png", "slategray", "The pegs"),
        ]
    ):
        extra = ProductImage(product=tent, alt_text=alt, position=position)
        extra.image.save(name, ContentFile(picture_bytes((800, 800), colour)))
    give_stock(VariantFactory(product=tent, sku="RIDGE-1", price=Decimal("120.00")), 5)
    return tent


def test_the_gallery_loads_at_both_widths_with_debug_off(live_shop, browser_session, media_mode):
    mode, prefix = media_mode
    tent = a_tent_with_three_pictures()
    shop = live_shop()
    if mode == "file-system":
        prefix = f"{shop.url}{prefix}"
    page = browser_session.new_page("shopper", base_url=shop.url)
    screenshots = Screenshots(folder=SCREENSHOTS_DIR / "media" / mode)

    page.goto(tent.get_absolute_url())
    page.wait_for_load_state("load")
    for width, height in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": height})
        images = page.evaluate(IMAGES, "#product-gallery img")
        assert len(images) == 6  # three pictures, each at the page's size and in the strip
        assert all(image["loaded"] for image in images), images
        assert all(image["src"].startswith(prefix) for image in images), images
        assert sorted({image["width"] for image in images}) == [120, 800]  # strip squares; pictures 800 wide
    screenshots.take(page, "product")

    page.get_by_role("button", name="Picture 3 of 3").click()
    expect(page.locator("#product-gallery .carousel-item.active img")).to_have_attribute("alt", "The pegs")
    expect(page.get_by_role("button", name="Picture 3 of 3")).to_have_attribute("aria-current", "true")
    screenshots.take(page, "product-third-picture")
    assert axe_violations(page) == []

    page.goto("/c/tents/")
    # Cards load lazily (loading="lazy"): after the page's load event, once in view.
    page.wait_for_function(f"() => ({IMAGES})('.product-card img').every(image => image.loaded)")
    cards = page.evaluate(IMAGES, ".product-card img")
    assert [(card["loaded"], card["width"]) for card in cards] == [(True, 480)]
    assert cards[0]["src"].startswith(prefix)
    screenshots.take(page, "listing")
    browser_session.assert_clean()  # no CSP violation: the store's origin is in img-src
