"""The ledger check: stock levels that differ from the sums of their movements.

`stock_reconcile` (a management command) and the race and fault tests ask it; a
healthy shop has none. Reads only, no locks.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from ..models import StockItem, StockMovement


@dataclass(frozen=True)
class LedgerDiscrepancy:
    stock_item_id: int
    sku: str
    warehouse: str
    on_hand: int
    allocated: int
    ledger_on_hand: int
    ledger_allocated: int

    def __str__(self) -> str:
        return (
            f"{self.sku} @ {self.warehouse} (stock item {self.stock_item_id}): "
            f"on hand {self.on_hand} but ledger says {self.ledger_on_hand}; "
            f"allocated {self.allocated} but ledger says {self.ledger_allocated}"
        )


def ledger_discrepancies() -> list[LedgerDiscrepancy]:
    """Stock items whose levels differ from the sums of their movements (one query)."""
    on_hand_sum = (
        StockMovement.objects.filter(stock_item=OuterRef("pk"))
        .values("stock_item")
        .annotate(total=Sum("on_hand_delta"))
        .values("total")
    )
    allocated_sum = (
        StockMovement.objects.filter(stock_item=OuterRef("pk"))
        .values("stock_item")
        .annotate(total=Sum("allocated_delta"))
        .values("total")
    )
    items = (
        StockItem.objects.annotate(
            ledger_on_hand=Coalesce(Subquery(on_hand_sum, output_field=IntegerField()), 0),
            ledger_allocated=Coalesce(Subquery(allocated_sum, output_field=IntegerField()), 0),
        )
        .filter(~Q(on_hand=F("ledger_on_hand")) | ~Q(allocated=F("ledger_allocated")))
        .values_list(
            "pk",
            "variant__sku",
            "warehouse__code",
            "on_hand",
            "allocated",
            "ledger_on_hand",
            "ledger_allocated",
        )
        .order_by("pk")
    )
    return [LedgerDiscrepancy(*row) for row in items]


def variants_moved_since(since: datetime) -> list[int]:
    """The variants with a stock movement (a sale, a receipt, an adjustment...) at or after `since`,
    in id order; one query on the movements' `created_at` index."""
    return sorted(
        set(StockMovement.objects.filter(created_at__gte=since).values_list("variant_id", flat=True))
    )
