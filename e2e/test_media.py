"""Product pictures in Chromium against the shop running with DEBUG=0, in three set-ups:

- object-store-nginx: pictures on an S3-compatible object store (moto's server), pages from the web
  unit as deployed behind the kit's nginx over TLS (e2e/deployed_shop.py: the rendered
  shop-web.service, production settings, USE_X_FORWARDED_PROTO=1, a self-signed certificate the
  browser's context accepts). Pages link to the store's own URLs and the CSP lets its origin in.
  The store speaks plain HTTP on 127.0.0.1, which browsers count as a secure origin, so an HTTPS page
  may load from it; a real store or CDN would be HTTPS.
- file-system-nginx: pictures under MEDIA_ROOT, same web unit and nginx; nginx serves /media/ itself
  (each picture's answer carries the header only nginx's /media/ location adds, and nginx's access
  log, which lists every request passed to gunicorn, has no /media/ request).
- file-system-gunicorn: pictures under MEDIA_ROOT, gunicorn alone (the `live_shop` fixture, no
  nginx): the shop serves them itself (shop/media/serve.py).

A product with a main picture and two more: its page shows the gallery (every picture and strip
square actually loaded: naturalWidth > 0, from the store or /media/), a square of the strip picks a
picture, and the listing card shows its thumbnail; at 1280 px and 390 px, no CSP violation, with
screenshots in e2e/screenshots/media/<set-up>/.
"""

from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from e2e.deployed_shop import deployed_shop
from e2e.helpers import NARROW, SCREENSHOTS_DIR, WIDE, Screenshots, axe_violations
from e2e.nginx_client import nginx_or_skip
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


# Where the pictures live, and what the browser talks to: nginx over TLS in front of the web unit as
# deployed (e2e/deployed_shop.py), or gunicorn alone (the shop serving MEDIA_ROOT itself).
SETUPS = {
    "object-store-nginx": ("object-store", "nginx"),
    "file-system-nginx": ("file-system", "nginx"),
    "file-system-gunicorn": ("file-system", "gunicorn"),
}
# The header nginx's /media/ location adds (deploy/nginx/shop.conf); the shop's own answers carry its
# page policy instead.
NGINX_MEDIA_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@dataclass
class Setup:
    mode: str  # object-store, file-system
    front: str  # nginx, gunicorn
    media_env: dict  # for the shop's environment
    media_root: Path | None  # what nginx serves at /media/ (None: nothing)
    store: str  # where the store's picture URLs start; "" on the file system


@pytest.fixture(params=list(SETUPS))
def setup(request, monkeypatch, settings, tmp_path):
    """The shop about to start and this process (its settings, where the test's data is written)
    pointed at the same pictures."""
    mode, front = SETUPS[request.param]
    if mode == "object-store":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket, url = bucket_new(endpoint)
        media_env = {
            "MEDIA_STORAGE_URL": url,
            "MEDIA_STORAGE_ACCESS_KEY_ID": KEYS["access_key"],
            "MEDIA_STORAGE_SECRET_ACCESS_KEY": KEYS["secret_key"],
        }
        settings.STORAGES = {**settings.STORAGES, "default": media_storage(url, **KEYS).storage}
        settings.IMAGEKIT_CACHE_PREFIX = f"imagekit:{bucket}:"
        return Setup(mode, front, media_env, None, f"{endpoint}/{bucket}/")
    media_root = tmp_path / "media"
    settings.MEDIA_ROOT = str(media_root)
    settings.IMAGEKIT_CACHE_PREFIX = f"{settings.IMAGEKIT_CACHE_PREFIX}{tmp_path.name}:"
    return Setup(mode, front, {"MEDIA_ROOT": str(media_root)}, media_root, "")


@pytest.fixture
def start_shop(setup, request, monkeypatch, tmp_path):
    """Returns `start()` -> (the shop's address, nginx or None): call it once the test's data is in."""
    if setup.front == "gunicorn":
        live_shop = request.getfixturevalue("live_shop")
        for name, value in setup.media_env.items():
            monkeypatch.setenv(name, value)
        return lambda: (live_shop().url, None)
    nginx_or_skip()
    request.getfixturevalue("transactional_db")
    static_root = request.getfixturevalue("static_root")
    stack = ExitStack()
    request.addfinalizer(stack.close)

    def start():
        shop = stack.enter_context(
            deployed_shop(
                tmp_path=tmp_path,
                static_root=static_root,
                media_root=setup.media_root,
                shop_env=setup.media_env,
            )
        )
        return shop.origin, shop.nginx

    return start


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


def test_the_gallery_loads_at_both_widths_with_debug_off(start_shop, setup, browser_session):
    tent = a_tent_with_three_pictures()
    url, nginx = start_shop()
    prefix = setup.store or f"{url}/media/"
    page = browser_session.new_page("shopper", base_url=url, ignore_https_errors=nginx is not None)
    media_answers = {}  # URL of each /media/ picture -> the Content-Security-Policy it came with
    page.on(
        "response",
        lambda response: (
            response.url.startswith(f"{url}/media/")
            and media_answers.setdefault(response.url, response.headers.get("content-security-policy"))
        ),
    )
    screenshots = Screenshots(folder=SCREENSHOTS_DIR / "media" / f"{setup.mode}-{setup.front}")

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
    for width, height in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": height})
        # Cards load lazily (loading="lazy"): after the page's load event, once in view.
        page.wait_for_function(f"() => ({IMAGES})('.product-card img').every(image => image.loaded)")
        cards = page.evaluate(IMAGES, ".product-card img")
        assert [(card["loaded"], card["width"]) for card in cards] == [(True, 480)]
        assert cards[0]["src"].startswith(prefix)
    screenshots.take(page, "listing")
    browser_session.assert_clean()  # no CSP violation: the store's origin is in img-src

    if setup.mode == "object-store":
        assert media_answers == {}  # nothing asked of the shop's own /media/
    elif nginx is not None:
        # Every picture (3 at the page's size, 3 strip squares, 1 card) came from nginx's /media/
        # location, with its header; none reached gunicorn, whose requests nginx's log lists.
        assert len(media_answers) == 7, media_answers
        assert set(media_answers.values()) == {NGINX_MEDIA_POLICY}
        logged = [(entry["uri"], entry["upstream"] != "") for entry in nginx.access_log()]
        assert (tent.get_absolute_url(), True) in logged and ("/c/tents/", True) in logged
        assert [uri for uri, _ in logged if uri.startswith("/media/")] == []
    else:
        assert len(media_answers) == 7, media_answers
        assert NGINX_MEDIA_POLICY not in media_answers.values()  # the shop's own view answered
