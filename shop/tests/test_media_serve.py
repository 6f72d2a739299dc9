"""Pictures on the file system served by the shop with DEBUG off (shop/media/serve.py)."""

import os
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.http import http_date
from PIL import Image

from shop.models import ProductImage
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    assert settings.DEBUG is False
    root = tmp_path / "media"
    (root / "products").mkdir(parents=True)
    settings.MEDIA_ROOT = str(root)
    settings.IMAGEKIT_CACHE_PREFIX = (
        f"{settings.IMAGEKIT_CACHE_PREFIX}{tmp_path.name}:"  # this MEDIA_ROOT's thumbnails only
    )
    return root


def jpeg_bytes(size=(40, 30), colour="navy") -> bytes:
    out = BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def test_a_picture_is_served_with_its_type_and_cache_lifetime(client, media_root, django_assert_num_queries):
    body = jpeg_bytes()
    (media_root / "products" / "tent.jpg").write_bytes(body)

    with django_assert_num_queries(0):
        response = client.get("/media/products/tent.jpg")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == body
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=86400"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Last-Modified"] == http_date(os.stat(media_root / "products" / "tent.jpg").st_mtime)


def test_media_cache_seconds_sets_the_lifetime(client, media_root, settings):
    (media_root / "products" / "tent.png").write_bytes(b"\x89PNG not checked")
    settings.MEDIA_CACHE_SECONDS = 60

    response = client.get("/media/products/tent.png")

    assert (response.status_code, response["Content-Type"]) == (200, "image/png")
    assert response["Cache-Control"] == "public, max-age=60"


def test_a_browser_that_has_it_is_told_so(client, media_root):
    path = media_root / "products" / "tent.jpg"
    path.write_bytes(jpeg_bytes())

    response = client.get("/media/products/tent.jpg", HTTP_IF_MODIFIED_SINCE=http_date(path.stat().st_mtime))

    assert response.status_code == 304
    assert response["Cache-Control"] == "public, max-age=86400"


def test_head_is_answered_and_writes_are_refused(client, media_root):
    (media_root / "products" / "tent.jpg").write_bytes(jpeg_bytes())

    assert client.head("/media/products/tent.jpg").status_code == 200
    assert client.post("/media/products/tent.jpg").status_code == 405
    assert (media_root / "products" / "tent.jpg").read_bytes() == jpeg_bytes()


@pytest.mark.parametrize(
    "url",
    [
        "/media/products/missing.jpg",
        "/media/products/",  # a folder
        "/media/products",
        "/media/notes.html",  # not a picture
        "/media/products/../notes.html",
        "/media/products/../../outside.jpg",
        "/media/%2e%2e/outside.jpg",
        "/media//etc/hostname.jpg",
        "/media/products/./tent.jpg",
        "/media/products\\..\\..\\outside.jpg",
        "/media/linked.jpg",  # a link to a picture outside MEDIA_ROOT
    ],
)
def test_anything_but_a_picture_inside_media_root_is_not_found(client, media_root, url):
    (media_root / "products" / "tent.jpg").write_bytes(jpeg_bytes())
    (media_root / "notes.html").write_text("<script>alert(1)</script>")
    outside = media_root.parent / "outside.jpg"
    outside.write_bytes(jpeg_bytes())
    (media_root / "linked.jpg").symlink_to(outside)

    response = client.get(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"  # the shop's 404 page, not the file


def test_a_nul_byte_is_refused_before_any_file_is_looked_for(client, media_root):
    (media_root / "products" / "tent.jpg").write_bytes(jpeg_bytes())

    assert client.get("/media/products/tent.jpg%00.html").status_code == 400  # config.middleware


def test_the_product_page_gallery_loads_from_the_shop_itself(client, media_root):
    product = ProductFactory(
        name="Ridge Tent",
        slug="ridge-tent",
        image=SimpleUploadedFile("ridge-tent.jpg", jpeg_bytes((1000, 1000), "green")),
    )
    VariantFactory(product=product)
    ProductImage.objects.create(
        product=product,
        image=SimpleUploadedFile("ridge-tent-door.jpg", jpeg_bytes((500, 400), "orange")),
        alt_text="The door",
        position=2,
    )
    ProductImage.objects.create(
        product=product,
        image=SimpleUploadedFile("ridge-tent-pegs.jpg", jpeg_bytes((500, 400), "grey")),
        alt_text="The pegs",
        position=1,
    )

    page = client.get(product.get_absolute_url()).content.decode()

    gallery = page[page.index('id="product-gallery"') :]
    alts = [alt for alt in ("Ridge Tent", "The pegs", "The door") if f'alt="{alt}"' in gallery]
    assert alts == ["Ridge Tent", "The pegs", "The door"]
    assert (
        gallery.index('alt="Ridge Tent"') < gallery.index('alt="The pegs"') < gallery.index('alt="The door"')
    )
    sources = [product.page_thumbnail.url, product.strip_thumbnail.url]
    sources += [
        url for extra in product.images.all() for url in (extra.page_thumbnail.url, extra.strip_thumbnail.url)
    ]
    assert len(set(sources)) == 6
    for url in sources:
        assert f'src="{url}"' in gallery
        assert url.startswith("/media/thumbnails/products/ridge-tent")
        response = client.get(url)
        assert (response.status_code, response["Content-Type"]) == (200, "image/jpeg")
        assert Image.open(BytesIO(b"".join(response.streaming_content))).format == "JPEG"


def test_one_picture_is_shown_without_a_carousel(client):
    product = ProductFactory(slug="lantern", image=SimpleUploadedFile("lantern.jpg", jpeg_bytes((300, 300))))
    VariantFactory(product=product)

    page = client.get(product.get_absolute_url()).content.decode()

    assert (
        f'<img class="rounded product-image" src="{product.page_thumbnail.url}" alt="{product.name}"' in page
    )
    assert "carousel" not in page


def test_a_product_without_pictures_keeps_its_placeholder(client):
    product = ProductFactory(slug="lantern")
    VariantFactory(product=product)

    page = client.get(product.get_absolute_url()).content.decode()

    assert 'class="rounded product-image product-image-placeholder"' in page
    assert "/thumbnails/" not in page
