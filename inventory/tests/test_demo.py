import html

import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory.models import PurchaseOrder, StockMovement
from inventory.selectors import availability_for_variants, ledger_discrepancies
from orders.models import Order
from shop.models import Variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)


def test_demo_has_every_availability_situation_and_reconciles(demo):
    statuses = {
        a.status
        for a in availability_for_variants(variant_ids=Variant.objects.values_list("pk", flat=True)).values()
    }

    assert statuses == {"in_stock", "low_stock", "backorder", "out_of_stock", "discontinued"}
    assert ledger_discrepancies() == []
    open_pos = PurchaseOrder.objects.filter(status__in=["ordered", "partially_received"])
    assert open_pos.count() >= 3
    assert all(po.expected_date > timezone.localdate() for po in open_pos)
    assert Order.objects.filter(email__endswith="@demo.example").count() == 10


def test_demo_seeding_twice_creates_nothing_new(demo, django_capture_on_commit_callbacks):
    counts = (StockMovement.objects.count(), PurchaseOrder.objects.count(), Order.objects.count())

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)

    assert (StockMovement.objects.count(), PurchaseOrder.objects.count(), Order.objects.count()) == counts


def test_product_pages_show_each_demo_variants_message(demo, client):
    variants = list(Variant.objects.select_related("product"))
    availability = availability_for_variants(variant_ids=[v.pk for v in variants])
    seen = set()
    for variant in variants:
        a = availability[variant.pk]
        if a.status in seen:
            continue
        seen.add(a.status)

        response = client.get(variant.product.get_absolute_url(), {"variant": variant.sku})

        assert response.status_code == 200
        assert a.message in html.unescape(response.content.decode())
    assert len(seen) == 5


def test_availability_reads_the_same_numbers_as_the_listing_filters(demo):
    """`availability_for_variants` (plain SQL) and `variants_with_stock` (the ORM annotations the
    listing filters on) agree for every variant of the demo, which has every availability situation."""
    from inventory.conf import inventory_defaults
    from inventory.models import BackorderPolicy
    from inventory.selectors import variants_with_stock

    defaults = inventory_defaults()
    policies = {p.variant_id: p for p in BackorderPolicy.objects.all()}
    annotated = {v.pk: v for v in variants_with_stock(Variant.objects.all())}
    answers = availability_for_variants(variant_ids=list(annotated))

    assert set(answers) == set(annotated)
    assert {a.status for a in answers.values()} == {
        "in_stock",
        "low_stock",
        "backorder",
        "out_of_stock",
        "discontinued",
    }
    for pk, variant in annotated.items():
        a, policy = answers[pk], policies.get(pk)
        assert (a.free_stock, a.waiting_backorders) == (variant.stock_free, variant.backorders_waiting), pk
        assert a.discount_percent == (policy.backorder_discount_percent if policy else None), pk
        expected_lead = policy.lead_time_days if policy and policy.lead_time_days is not None else None
        assert a.lead_time_days == (expected_lead or defaults.lead_time_days), pk
    assert any(a.discount_percent for a in answers.values())  # the demo has backorder discounts


def test_can_ship_now_is_the_listing_filters_available_now(demo):
    """`can_ship_now_expression` (the product page's plain-SQL test) says what `available_now_q` says on
    `variants_with_stock` for every variant of the demo, those that can ship now and those that cannot."""
    from django.db.models import BooleanField, ExpressionWrapper

    from inventory.selectors import available_now_q, can_ship_now_expression, variants_with_stock

    listing = dict(
        variants_with_stock(Variant.objects.all())
        .annotate(now=ExpressionWrapper(available_now_q(), output_field=BooleanField()))
        .values_list("pk", "now")
    )
    page = dict(Variant.objects.annotate(now=can_ship_now_expression()).values_list("pk", "now"))

    assert {pk: bool(now) for pk, now in page.items()} == {pk: bool(now) for pk, now in listing.items()}
    assert set(listing.values()) == {True, False}


def test_demo_dashboard_shows_a_handful_of_items_to_reorder(demo):
    from inventory.console.reports import low_stock_variants

    # The demo's low items are mostly on order already: the tile lists what is left to reorder.
    assert 1 <= low_stock_variants().count() <= 8
