"""Product pictures on a real S3-compatible server (moto's server mode, on a loopback port): uploaded
through the admin, thumbnails made on save, pages linking to the store, and the links loading."""

import re
import urllib.request
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from storages.backends.s3 import S3Storage

from shop.media.storage_url import media_storage
from shop.models import Product
from shop.tests.factories import CategoryFactory
from shop.tests.media import KEYS, bucket_new, moto_s3_server, picture_bytes, s3_client

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def s3_endpoint():
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint, settings):
    """A new bucket anyone may read from, as the default storage."""
    name, url = bucket_new(s3_endpoint)
    settings.STORAGES = {**settings.STORAGES, "default": media_storage(url, **KEYS).storage}
    settings.IMAGEKIT_CACHE_PREFIX = f"imagekit:{name}:"  # thumbnails' states of this bucket only
    return name


def picture_upload(name: str, size: tuple[int, int], colour: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, picture_bytes(size, colour), content_type="image/png")


def product_added_in_admin(client, admin_user) -> Product:
    """A product with its main picture and one more, added through the admin's form as staff do."""
    category = CategoryFactory(slug="tents")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:shop_product_add"),
        {
            "name": "Ridge Tent",
            "slug": "ridge-tent",
            "description": "",
            "category": category.pk,
            "tax_class": "standard",
            "is_active": "on",
            "image": picture_upload("ridge-tent.png", (1200, 900), "darkgreen"),
            "variants-TOTAL_FORMS": "1",
            "variants-INITIAL_FORMS": "0",
            "variants-0-sku": "RIDGE-1",
            "variants-0-option_values": "{}",
            "variants-0-price": "120.00",
            "variants-0-is_active": "on",
            "variants-0-position": "0",
            "images-TOTAL_FORMS": "1",
            "images-INITIAL_FORMS": "0",
            "images-0-image": picture_upload("ridge-tent-inside.png", (600, 800), "orange"),
            "images-0-alt_text": "The tent from inside, door open",
            "images-0-position": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    product = Product.objects.get(slug="ridge-tent")
    assert product.variants.get().price == Decimal("120.00")
    return product


def fetched(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


def test_pictures_uploaded_in_the_admin_land_in_the_bucket_with_their_thumbnails(
    client, admin_user, bucket, s3_endpoint
):
    product = product_added_in_admin(client, admin_user)
    extra = product.images.get()

    objects = s3_client(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]
    keys = sorted(o["Key"] for o in objects)
    assert [k for k in keys if not k.startswith("thumbnails/")] == [
        "products/ridge-tent-inside.png",
        "products/ridge-tent.png",
    ]
    thumbnails = [k for k in keys if k.startswith("thumbnails/")]
    # Made on save: card, page and strip of the main picture; page and strip of the other one.
    assert sorted(thumbnails) == sorted(
        [
            product.card_thumbnail.name,
            product.page_thumbnail.name,
            product.strip_thumbnail.name,
            extra.page_thumbnail.name,
            extra.strip_thumbnail.name,
        ]
    )
    assert all(
        k.startswith(("thumbnails/products/ridge-tent/", "thumbnails/products/ridge-tent-inside/"))
        for k in thumbnails
    )
    for key in keys:
        head = s3_client(s3_endpoint).head_object(Bucket=bucket, Key=key)
        assert head["CacheControl"] == "public, max-age=86400"
        assert head["ContentType"] == ("image/jpeg" if key.endswith(".jpg") else "image/png")
    sizes = {}
    for name, spec in [
        ("card", product.card_thumbnail),
        ("page", product.page_thumbnail),
        ("strip", product.strip_thumbnail),
        ("extra page", extra.page_thumbnail),
    ]:
        body = s3_client(s3_endpoint).get_object(Bucket=bucket, Key=spec.name)["Body"].read()
        picture = Image.open(BytesIO(body))
        sizes[name] = (picture.format, picture.size)
    assert sizes == {
        "card": ("JPEG", (480, 360)),
        "page": ("JPEG", (800, 600)),  # 1200 x 900 fitted inside 800 x 800
        "strip": ("JPEG", (120, 120)),
        "extra page": ("JPEG", (600, 800)),  # never enlarged
    }


def test_the_product_page_links_to_the_store_and_the_links_load(client, admin_user, bucket, s3_endpoint):
    product = product_added_in_admin(client, admin_user)
    client.logout()

    page = client.get(product.get_absolute_url()).content.decode()

    sources = re.findall(r'<img[^>]* src="([^"]+)"', page)
    gallery = [s for s in sources if "/thumbnails/" in s]
    assert len(gallery) == 4  # two pictures, each at the page's size and in the strip
    assert all(s.startswith(f"{s3_endpoint}/{bucket}/thumbnails/products/ridge-tent") for s in gallery)
    assert 'alt="The tent from inside, door open"' in page
    assert 'alt="Ridge Tent"' in page
    for url in gallery:
        status, content_type, body = fetched(url)
        assert (status, content_type) == (200, "image/jpeg")
        assert Image.open(BytesIO(body)).format == "JPEG"


def test_listing_cards_link_to_the_card_thumbnail_in_the_store(client, admin_user, bucket, s3_endpoint):
    product = product_added_in_admin(client, admin_user)
    client.logout()

    page = client.get("/c/tents/").content.decode()

    card = f"{s3_endpoint}/{bucket}/{product.card_thumbnail.name}"
    assert f'src="{card}"' in page
    status, content_type, body = fetched(card)
    assert (status, content_type) == (200, "image/jpeg")
    assert Image.open(BytesIO(body)).size == (480, 360)


class StorageCalls:
    """Counts the calls pages make to the S3 storage (each one an HTTP request to the store)."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        for method in ("exists", "_open", "_save", "size", "delete", "listdir", "get_modified_time"):
            original = getattr(S3Storage, method)

            def counted(storage, *args, _original=original, _method=method, **kwargs):
                self.calls.append(_method)
                return _original(storage, *args, **kwargs)

            monkeypatch.setattr(S3Storage, method, counted)


def test_a_page_asks_the_store_nothing_once_the_thumbnails_are_made(
    client, admin_user, bucket, settings, monkeypatch
):
    settings.SHOP_PAGE_CACHE_TTL = 0  # every request renders the page (a cached one asks nothing at all)
    product = product_added_in_admin(client, admin_user)
    client.logout()
    calls = StorageCalls(monkeypatch)

    client.get(product.get_absolute_url())
    assert calls.calls == []  # made on save, and the cache remembers it

    settings.IMAGEKIT_CACHE_PREFIX = f"imagekit:{bucket}:forgotten:"  # as after the cache is emptied
    client.get(product.get_absolute_url())
    assert calls.calls == ["exists"] * 4  # each of the page's 4 thumbnails, once ...

    client.get(product.get_absolute_url())
    assert calls.calls == ["exists"] * 4  # ... and never again
