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
