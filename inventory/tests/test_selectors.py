from datetime import date
from decimal import Decimal

import pytest

from inventory.models import BackorderMode, PurchaseOrderStatus, StockItem
from inventory.projection import DateRange
from inventory.selectors import (
    availability_best,
    availability_for_variant,
    availability_for_variants,
    product_availability_filter,
)
from inventory.tests.factories import (
    BackorderPolicyFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    WarehouseFactory,
)
from orders.tests.factories import OrderLineFactory
from shop.models import Product
from shop.tests.factories import ProductFactory, VariantFactory

TODAY = date(2026, 11, 21)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _defaults(settings):
    settings.INVENTORY_DEFAULT_BACKORDER_MODE = "deny"
    settings.INVENTORY_DEFAULT_LEAD_TIME_DAYS = 21
    settings.INVENTORY_LOW_STOCK_THRESHOLD = 5
    settings.INVENTORY_OVERDUE_GRACE_DAYS = 3


def stock(variant, on_hand, allocated=0, warehouse=None):
    # Test setup writes rows directly; production code goes through inventory.services.
    return StockItem.objects.create(
        variant=variant, warehouse=warehouse or WarehouseFactory(), on_hand=on_hand, allocated=allocated
    )


def waiting(variant, quantity):
    return OrderLineFactory(variant=variant, quantity=quantity)


def incoming(variant, quantity, expected, received=0, status=PurchaseOrderStatus.ORDERED):
    po = PurchaseOrderFactory(expected_date=expected, status=status)
    return PurchaseOrderLineFactory(
        purchase_order=po, variant=variant, quantity_ordered=quantity, quantity_received=received
    )


def avail(variant):
    return availability_for_variant(variant_id=variant.pk, today=TODAY)


def test_plenty_of_stock_is_in_stock():
    variant = VariantFactory()
    stock(variant, 40, allocated=10)

    a = avail(variant)

    assert (a.status, a.sellable_now, a.backorderable, a.expected_date) == ("in_stock", 30, 0, None)
    assert a.message == "In stock, ready to ship"
    assert a.schema_org == "https://schema.org/InStock"


def test_stock_at_threshold_is_low_stock():
    variant = VariantFactory()
    stock(variant, 5)

    a = avail(variant)

    assert (a.status, a.sellable_now) == ("low_stock", 5)
    assert a.message == "Only 5 left in stock"
    assert a.schema_org == "https://schema.org/LimitedAvailability"


def test_stock_is_summed_over_active_warehouses_only():
    variant = VariantFactory()
    stock(variant, 4)
    stock(variant, 4)
    stock(variant, 100, warehouse=WarehouseFactory(is_active=False))

    assert avail(variant).sellable_now == 8


def test_deny_policy_without_stock_is_out_of_stock():
    variant = VariantFactory()
    stock(variant, 3, allocated=3)
    incoming(variant, 50, date(2026, 12, 1))

    a = avail(variant)

    assert (a.status, a.sellable_now, a.backorderable, a.expected_date) == ("out_of_stock", 0, 0, None)
    assert a.message == "Out of stock"
    assert a.is_purchasable is False


def test_allow_policy_without_po_uses_lead_time():
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, lead_time_days=10)

    a = avail(variant)

    assert (a.status, a.sellable_now, a.backorderable) == ("backorder", 0, None)
    # No purchase order: today + 10 days (Tuesday 1 December) + the shop's default lateness of a supplier
    # not known yet, 2 days (Thursday 3 December) to 7 days (Tuesday 8 December); both are shipping days
    # (docs/dates.md).
    assert a.expected_range == DateRange(earliest=date(2026, 12, 3), confident=date(2026, 12, 8))
    assert a.expected_date == date(2026, 12, 8)
    assert a.message == "Available on backorder, expected to ship 3–8 December 2026"
    assert a.schema_org == "https://schema.org/BackOrder"


def test_backorder_date_respects_the_queue():
    """30 units already wait; the next PO brings 20, so a new backorder waits for the one after."""
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, lead_time_days=40)
    waiting(variant, 30)
    incoming(variant, 20, date(2026, 12, 1))
    incoming(variant, 20, date(2026, 12, 15))

    a = avail(variant)

    assert a.waiting_backorders == 30
    # The second PO, padded by the default lateness: 15 Dec + 2 = Thu 17 Dec, + 7 = Tue 22 Dec.
    assert a.expected_range == DateRange(earliest=date(2026, 12, 17), confident=date(2026, 12, 22))
    assert a.backorder_date(10) == date(2026, 12, 22)
    # Beyond both POs: today + 40 days lead time (Thu 31 Dec), + 2 (Sat 2 Jan: Monday 4 January 2027) to
    # + 7 (Thu 7 Jan 2027), the default lateness of the variant's supplier (not learned yet).
    assert a.backorder_range(11) == DateRange(earliest=date(2027, 1, 4), confident=date(2027, 1, 7))
    assert a.backorder_date(11) == date(2027, 1, 7)


def test_partially_received_po_counts_only_what_is_outstanding():
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW)
    waiting(variant, 5)
    incoming(variant, 10, date(2026, 12, 1), received=6, status=PurchaseOrderStatus.PARTIALLY_RECEIVED)
    incoming(variant, 10, date(2026, 12, 20))

    a = avail(variant)

    # 4 outstanding on the first PO cannot serve the 6th waiting unit: the second PO, 20 December (a
    # Sunday) + the default lateness, 2 days (Tue 22 Dec) to 7 days (Sun 27 Dec, next shipping day:
    # Tue 29 Dec, after Christmas and the Boxing Day bank holiday on Monday 28 December).
    assert a.expected_range == DateRange(earliest=date(2026, 12, 22), confident=date(2026, 12, 29))


def test_overdue_po_promises_today_plus_grace():
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW)
    incoming(variant, 10, date(2026, 11, 10))

    # 3 shipping days from Saturday 21 November: Wednesday 25 November (later than 10 Nov + 2 or + 7).
    assert avail(variant).expected_range == DateRange(
        earliest=date(2026, 11, 25), confident=date(2026, 11, 25)
    )


def test_draft_and_cancelled_pos_are_not_counted():
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, lead_time_days=30)
    incoming(variant, 10, date(2026, 12, 1), status=PurchaseOrderStatus.DRAFT)
    incoming(variant, 10, date(2026, 12, 2), status=PurchaseOrderStatus.CANCELLED)

    # Today + 30 days lead time (Monday 21 December), + 2 days (Wednesday 23 December) to + 7 days
    # (Monday 28 December is the Boxing Day bank holiday: Tuesday 29 December).
    assert avail(variant).expected_range == DateRange(
        earliest=date(2026, 12, 23), confident=date(2026, 12, 29)
    )


def test_backorder_limit_reached_exactly_is_out_of_stock():
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, backorder_limit=5)
    waiting(variant, 2)
    waiting(variant, 3)

    a = avail(variant)

    assert (a.status, a.backorderable, a.expected_date) == ("out_of_stock", 0, None)
    assert a.message == "Out of stock: backorders for this item are full"


def test_backorder_limit_one_short_still_sells_one():
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, backorder_limit=5)
    waiting(variant, 4)

    a = avail(variant)

    assert (a.status, a.backorderable, a.max_orderable) == ("backorder", 1, 1)
    assert a.message.endswith("(only 1 more can be backordered)")
    assert a.split(1) == (0, 1)
    with pytest.raises(ValueError, match="at most 1 can be ordered"):
        a.split(2)


def test_free_stock_is_held_for_the_queue_first():
    """Stock that arrived while backorders wait belongs to them, not to a new customer."""
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW)
    stock(variant, 10)
    waiting(variant, 8)

    a = avail(variant)

    assert (a.status, a.sellable_now) == ("low_stock", 2)
    assert a.split(5) == (2, 3)


def test_discontinued_with_stock_sells_the_rest_without_backorder():
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, discontinued=True)
    stock(variant, 3)

    a = avail(variant)

    assert (a.status, a.sellable_now, a.backorderable) == ("low_stock", 3, 0)
    assert a.message == "Only 3 left in stock (this item will not be restocked)"


def test_discontinued_without_stock():
    variant = VariantFactory()
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, discontinued=True)
    incoming(variant, 10, date(2026, 12, 1))

    a = avail(variant)

    assert (a.status, a.expected_date) == ("discontinued", None)
    assert a.schema_org == "https://schema.org/Discontinued"


def test_low_stock_with_backorder_allowed_mentions_the_date():
    variant = VariantFactory()
    BackorderPolicyFactory(
        variant=variant, mode=BackorderMode.ALLOW, backorder_discount_percent=Decimal("10"), lead_time_days=7
    )
    stock(variant, 2)

    a = avail(variant)

    assert a.message == (
        # today + 7 days is Saturday 28 November: the next shipping day is Monday 30 November; + 7 more.
        "Only 2 left in stock; more can be ordered on backorder, expected to ship 30 November – 7 December 2026"
    )
    assert a.discount_percent == Decimal("10")


def test_shop_default_policy_applies_without_a_row(settings):
    settings.INVENTORY_DEFAULT_BACKORDER_MODE = "allow"
    variant = VariantFactory()

    assert avail(variant).status == "backorder"


def test_bulk_availability_uses_one_query_whatever_the_count(django_assert_num_queries):
    variants = [VariantFactory() for _ in range(24)]
    for v in variants[:8]:
        stock(v, 10)
    for v in variants[8:16]:
        BackorderPolicyFactory(variant=v, mode=BackorderMode.ALLOW)
        incoming(v, 5, date(2026, 12, 1))
        waiting(v, 2)

    # The numbers, the purchase-order lines, the suppliers' habits (for every supplier at once) and the
    # shop's closures (the calendar), in one statement: the same one for 24 variants as for one
    # (docs/dates.md).
    with django_assert_num_queries(1):
        result = availability_for_variants(variant_ids=[v.pk for v in variants], today=TODAY)

    assert [result[v.pk].status for v in variants] == ["in_stock"] * 8 + ["backorder"] * 8 + [
        "out_of_stock"
    ] * 8
    # 1 December + 2 days (Thursday 3 December) to + 7 days (Tuesday 8 December).
    assert {result[v.pk].expected_range for v in variants[8:16]} == {
        DateRange(earliest=date(2026, 12, 3), confident=date(2026, 12, 8))
    }


def test_product_filters_available_now_and_backorder():
    in_stock = ProductFactory()
    stock(VariantFactory(product=in_stock), 5)
    backorder = ProductFactory()
    BackorderPolicyFactory(variant=VariantFactory(product=backorder), mode=BackorderMode.ALLOW)
    gone = ProductFactory()
    VariantFactory(product=gone)

    now = Product.objects.filter(product_availability_filter(kind="now"))
    later = Product.objects.filter(product_availability_filter(kind="backorder"))

    assert list(now) == [in_stock]
    assert list(later) == [backorder]


def test_best_availability_of_a_product():
    a = VariantFactory()
    b = VariantFactory(product=a.product)
    stock(b, 50)
    result = availability_for_variants(variant_ids=[a.pk, b.pk], today=TODAY)

    assert availability_best(result.values()).variant_id == b.pk
