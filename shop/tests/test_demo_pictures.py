"""shop/demo/images.py and the catalog step: every demo product has a picture and a listing date in the past."""

import html
from datetime import timedelta
from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from shop.demo import CURATED_PRODUCTS
from shop.demo.images import SIZE, Picture, colour_for, monogram_for, picture_png, shape_for
from shop.demo.plans import LISTED_DAYS_AGO, product_plans
from shop.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")  # the pictures land here, not in var/media
    return tmp_path / "media"


def seed(*args: str) -> None:
    call_command("seed_demo", *args, steps="catalog", verbosity=0)


def test_every_demo_product_gets_a_stored_picture(media_root):
    seed("--products", "120")

    products = list(Product.objects.order_by("pk"))
    assert len(products) == 120
    assert all(p.image.name.startswith("products/demo/") for p in products)
    for name in {p.image.name for p in products}:
        assert (media_root / name).is_file()
        with default_storage.open(name) as stored:
            picture = Image.open(BytesIO(stored.read()))
            assert (picture.format, picture.size) == ("PNG", (SIZE, SIZE))
    hand_written = [p for p in products if p.name in {c.name for c in CURATED_PRODUCTS}]
    assert len(hand_written) == 45
    assert len({p.image.name for p in hand_written}) == 45  # one each (with its monogram)
    generated = [p for p in products if p not in hand_written]
    assert len({p.image.name for p in generated}) < len(generated)  # shared per shape and colour


def test_demo_products_were_listed_over_past_months_not_today():
    seed()

    now = timezone.now()
    dates = list(Product.objects.values_list("created_at", flat=True))
    oldest, newest = LISTED_DAYS_AGO[1] + 1, LISTED_DAYS_AGO[0]
    assert all(now - timedelta(days=oldest) < d <= now - timedelta(days=newest) for d in dates)
    assert len({d.date() for d in dates}) > 30  # spread out, not one day


def test_product_page_shows_the_picture_and_a_past_listing_date(client):
    seed()
    tent = Product.objects.get(slug="alpine-2-tent")

    page = html.unescape(client.get(tent.get_absolute_url()).content.decode())

    # Its thumbnail at the page's size (shop/media/thumbnails.py), made by the first page that needed it.
    assert f'src="{tent.page_thumbnail.url}"' in page
    assert tent.page_thumbnail.url.startswith("/media/thumbnails/products/demo/tent-green-a2-")
    assert "product-image-placeholder" not in page
    since = f"In our catalogue since {tent.created_at:%-d %B %Y}."
    assert since in page
    assert f"{timezone.localdate():%-d %B %Y}" not in since


def test_listing_cards_show_the_pictures(client):
    seed()

    page = client.get("/c/tents/").content.decode()

    tents = Product.objects.filter(category__slug="tents")
    assert tents.count() == 5
    assert all(f'src="{t.card_thumbnail.url}"' in page for t in tents)
    assert "product-card-placeholder" not in page


def test_seeding_again_draws_nothing_new(media_root):
    seed("--products", "60")
    files = sorted(p.name for p in (media_root / "products" / "demo").iterdir())

    seed("--products", "60")

    assert sorted(p.name for p in (media_root / "products" / "demo").iterdir()) == files


def test_the_picture_follows_the_product():
    assert shape_for("Alpine 2 Tent", "tents") == "tent"
    assert shape_for("Merino Hiking Socks", "footwear") == "sock"
    assert shape_for("Whetstone 1000/6000", "knives") == "stone"
    assert shape_for("Stainless Saucepan Set", "cookware") == "pot"
    assert shape_for("Insulated Sleeping Mat", "sleeping-gear") == "mat"
    assert shape_for("Carbon Steel Wok", "cookware") == "pan"  # whole words: "Steel" is no tee
    assert shape_for("Trail Running Tee", "t-shirts") == "tshirt"
    assert shape_for("Summit Daypack 0042", "backpacks") == "backpack"
    assert shape_for("Hearth Thing 0001", "cookware") == "pan"  # the category's when no word matches
    assert colour_for(slug="x", category="tents", option_values={"colour": "Orange"}) == "Orange"
    assert colour_for(slug="x", category="knives", option_values={"handle": "Walnut"}) == "Walnut"
    assert monogram_for("Alpine 2 Tent") == "A2"
    assert monogram_for("Chef's Knife 20 cm") == "CK"


def test_plans_give_the_same_pictures_and_dates_for_the_same_seed():
    def pictures_and_dates(seed_value: int) -> list[tuple[Picture, int]]:
        return [(p.picture, p.listed_minutes_ago) for p in product_plans(products=80, rng_seed=seed_value)]

    assert pictures_and_dates(7) == pictures_and_dates(7)
    assert pictures_and_dates(7) != pictures_and_dates(8)


def test_a_picture_is_a_square_png():
    data = picture_png(Picture(shape="kettle", colour="White", monogram="GK"))

    image = Image.open(BytesIO(data))
    assert (image.format, image.size, image.mode) == ("PNG", (SIZE, SIZE), "RGB")
