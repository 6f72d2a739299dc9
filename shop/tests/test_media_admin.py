"""The product admin's pictures: the gallery inline, its alt text's limit, and its previews."""

from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from shop.models import ProductImage
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.IMAGEKIT_CACHE_PREFIX = f"{settings.IMAGEKIT_CACHE_PREFIX}{tmp_path.name}:"


def png(name: str) -> SimpleUploadedFile:
    out = BytesIO()
    Image.new("RGB", (200, 150), "teal").save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def change_form(product, variant, **images) -> dict:
    return {
        "name": product.name,
        "slug": product.slug,
        "description": "",
        "category": product.category_id,
        "tax_class": "standard",
        "is_active": "on",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-0-id": variant.pk,
        "variants-0-product": product.pk,
        "variants-0-sku": variant.sku,
        "variants-0-option_values": "{}",
        "variants-0-price": str(variant.price),
        "variants-0-is_active": "on",
        "variants-0-position": "0",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        **{f"images-0-{name}": value for name, value in images.items()},
    }


def test_the_change_page_offers_pictures_with_the_alt_texts_limit(admin_client):
    product = ProductFactory()
    VariantFactory(product=product)
    extra = ProductImage.objects.create(product=product, image=png("side.png"), alt_text="Side view")

    page = admin_client.get(reverse("admin:shop_product_change", args=[product.pk])).content.decode()

    assert 'name="images-0-alt_text" value="Side view"' in page
    assert f'maxlength="{ProductImage.ALT_TEXT_MAX_LENGTH}"' in page
    assert ProductImage.ALT_TEXT_MAX_LENGTH == 200
    assert f'<img src="{extra.strip_thumbnail.url}" alt="" width="60" height="60">' in page


def test_a_picture_is_added_with_its_alt_text(admin_client):
    product = ProductFactory()
    variant = VariantFactory(product=product)

    response = admin_client.post(
        reverse("admin:shop_product_change", args=[product.pk]),
        change_form(product, variant, image=png("back.png"), alt_text="The back panel", position="3"),
    )

    assert response.status_code == 302
    extra = product.images.get()
    assert (extra.alt_text, extra.position, extra.image.name) == ("The back panel", 3, "products/back.png")


def test_an_alt_text_over_the_limit_is_refused_and_nothing_is_saved(admin_client):
    product = ProductFactory()
    variant = VariantFactory(product=product)

    response = admin_client.post(
        reverse("admin:shop_product_change", args=[product.pk]),
        change_form(product, variant, image=png("back.png"), alt_text="x" * 201, position="0"),
    )

    assert response.status_code == 200
    assert "Ensure this value has at most 200 characters (it has 201)." in response.content.decode()
    assert product.images.count() == 0
