import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.models import StockItem
from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def test_reconcile_reports_zero_when_levels_match_ledger(capsys):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=9)
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-4)

    call_command("stock_reconcile")

    assert "0 discrepancies" in capsys.readouterr().out


def test_reconcile_catches_a_row_changed_behind_the_ledger(capsys):
    variant, warehouse = VariantFactory(sku="TENT-1"), WarehouseFactory(code="MAIN")
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=9)
    healthy = VariantFactory()
    stock_adjust(variant_id=healthy.pk, warehouse_id=warehouse.pk, quantity_change=2)
    # Corrupt one row directly, as a buggy script or a hand-edit in SQL would.
    StockItem.objects.filter(variant=variant).update(on_hand=12)

    with pytest.raises(CommandError) as excinfo:
        call_command("stock_reconcile")

    assert excinfo.value.returncode == 1
    out = capsys.readouterr().out
    assert "TENT-1 @ MAIN" in out
    assert "on hand 12 but ledger says 9" in out
    assert healthy.sku not in out
