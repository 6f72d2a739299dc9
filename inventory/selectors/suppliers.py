"""Supplier habits, learned from purchase-order history: how often a supplier delivers by the date it
promised when the order was placed, how late it typically is, and how much of what was ordered arrives.

Every figure, exactly (docs/inventory.md, "Supplier habits"):

- The promise of a purchase order is `promised_date_at_order`: its expected date when it was marked
  ordered (or, ordered without a date, the first date given after). Later moves of the date do not
  change it: a supplier that announces a slip was still late against what it first promised.
- Lateness is counted **per purchase order**, in calendar days: the local date of its latest receipt so
  far (the `received` ledger rows of its lines) minus its promise. An order received in two parts is
  as late as its second part. Early counts as 0 days late.
- `sample`: the supplier's orders with at least one receipt and a promise.
- `on_time_rate`: the share of the sample with lateness 0 (received by the promised date).
- `late_p50_days`, `late_p90_days`: the 50th and 90th percentiles of the sample's lateness, by nearest
  rank (the value at position ceil(p/100 × n) of the sorted list), in whole days.
- `late_after_change`: the same lateness counted from the order's **last** expected date, over the
  orders whose date was moved after they were ordered: how far a supplier's new date can be trusted.
- `fill_rate`: units received ÷ units ordered over the orders that should be complete by now: received
  in full, cancelled after part of it arrived (closed short), or still open past their current
  expected date. An order cancelled before anything arrived is the shop's decision and is left out.
  `fill_p50`, `fill_p10`: the median and 10th-percentile share of an order that arrived, over the
  closed ones only (received in full, or closed short): an open order past its date is late, not short.
- `learned`: the sample has at least `SUPPLIER_MIN_SAMPLE` orders. Until then the lateness figures are
  the shop's defaults (`SUPPLIER_DEFAULT_LATE_P50_DAYS`, `SUPPLIER_DEFAULT_LATE_P90_DAYS`), and
  `on_time_rate` and `fill_rate` are what the few orders show (None with none). Each other list
  (moved orders, orders due) is used once it has as many; until then moved dates are counted with
  the shop's defaults and deliveries as complete.

`purchase_order_incoming` turns one open purchase-order line into what the projection counts on
(`inventory.projection.Incoming`) with these habits: the samples for its lateness (since the order,
or since its last date when that was moved), and its units at the median and 10th-percentile fill.

One query, however many suppliers are asked for.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import DateTimeField, Max, OuterRef, Subquery, Sum
from django.utils import timezone

from ..models import MovementReason, PurchaseOrder, PurchaseOrderStatus, StockMovement
from ..projection import Incoming, nearest_rank
from .scope import scope_memo


@dataclass(frozen=True)
class SupplierHabits:
    supplier_id: int
    sample: int  # purchase orders with a receipt (and a promised date)
    on_time_rate: float | None  # share of the sample received by the promised date; None: no sample
    late_p50_days: int  # typical days late (the shop default until learned)
    late_p90_days: int  # 9 in 10 orders arrive within this many days late (the shop default until learned)
    fill_rate: float | None  # units received / ordered on orders due by now; None: none due yet
    learned: bool  # False: too few samples, the shop default lateness is used
    late_samples: tuple[int, ...] = ()  # days late against the promise at order, sorted; () until learned
    late_after_change: tuple[int, ...] = ()  # days late against a moved date, sorted; () until enough
    fill_p50: float = 1.0  # the median order's share delivered (1 until enough orders are due)
    fill_p10: float = 1.0  # 9 in 10 orders deliver at least this share

    @property
    def min_sample(self) -> int:
        return supplier_min_sample()


def supplier_min_sample() -> int:
    return max(1, getattr(settings, "SUPPLIER_MIN_SAMPLE", 5))


def supplier_default_lateness() -> tuple[int, int]:
    """The shop's (p50, p90) days late for a supplier not learned yet; p90 is never below p50."""
    p50 = max(0, getattr(settings, "SUPPLIER_DEFAULT_LATE_P50_DAYS", 2))
    return p50, max(p50, getattr(settings, "SUPPLIER_DEFAULT_LATE_P90_DAYS", 7))


def supplier_habits(supplier_ids: Iterable[int], *, today: date | None = None) -> dict[int, SupplierHabits]:
    """Each asked supplier's habits (every id gets an entry, known or not). One query; inside a read
    scope (`scope.read_scope`, one per web request) none for suppliers it already read that day."""
    ids = sorted(set(supplier_ids))
    if not ids:
        return {}
    today = today or timezone.localdate()
    memo = scope_memo()
    if memo is None:
        return _supplier_habits(ids, today)
    missing = [sid for sid in ids if ("habits", sid, today) not in memo]
    if missing:
        for sid, habits in _supplier_habits(missing, today).items():
            memo["habits", sid, today] = habits
    return {sid: memo["habits", sid, today] for sid in ids}


def _supplier_habits(ids: list[int], today: date) -> dict[int, SupplierHabits]:
    last_receipt = (
        StockMovement.objects.filter(reason=MovementReason.RECEIVED, po_line__purchase_order=OuterRef("pk"))
        .order_by()
        .values("po_line__purchase_order")
        .annotate(last=Max("created_at"))
        .values("last")
    )
    orders = (
        PurchaseOrder.objects.filter(supplier_id__in=ids)
        .exclude(status=PurchaseOrderStatus.DRAFT)
        .annotate(
            ordered_units=Sum("lines__quantity_ordered"),
            received_units=Sum("lines__quantity_received"),
            received_last=Subquery(last_receipt, output_field=DateTimeField()),
        )
        .order_by()
        .values_list(
            "supplier_id",
            "status",
            "promised_date_at_order",
            "expected_date",
            "ordered_units",
            "received_units",
            "received_last",
        )
    )
    return _habits_from_orders(orders, ids, today)


def supplier_habits_from_orders(
    orders: Iterable[tuple], *, supplier_ids: Iterable[int], today: date
) -> dict[int, SupplierHabits]:
    """`supplier_habits` from purchase-order rows the caller read along with other rows
    (`inventory.selectors.availability`: one statement for a page), as `_supplier_habits` reads them:
    (supplier, status, promised at order, expected date, units ordered, units received, last receipt),
    every order not a draft of every supplier asked for. Inside a read scope a supplier it already
    read that day keeps its first answer, as `supplier_habits` would give it."""
    ids = sorted(set(supplier_ids))
    if not ids:
        return {}
    memo = scope_memo()
    missing = ids if memo is None else [sid for sid in ids if ("habits", sid, today) not in memo]
    found = _habits_from_orders(orders, missing, today) if missing else {}
    if memo is None:
        return found
    for sid, habits in found.items():
        memo["habits", sid, today] = habits
    return {sid: memo["habits", sid, today] for sid in ids}


def _habits_from_orders(orders: Iterable[tuple], ids: list[int], today: date) -> dict[int, SupplierHabits]:
    lateness: dict[int, list[int]] = defaultdict(list)
    after_change: dict[int, list[int]] = defaultdict(list)
    fills: dict[int, list[float]] = defaultdict(list)
    filled: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # supplier -> [received, ordered]
    for supplier_id, status, promised, expected, ordered, received, received_at in orders:
        if received_at is not None and promised is not None:
            arrived = timezone.localdate(received_at)
            lateness[supplier_id].append((arrived - promised).days)
            if expected is not None and expected != promised:
                after_change[supplier_id].append((arrived - expected).days)
        due = (
            status == PurchaseOrderStatus.RECEIVED
            or (status == PurchaseOrderStatus.CANCELLED and received_at is not None)
            or (
                status in (PurchaseOrderStatus.ORDERED, PurchaseOrderStatus.PARTIALLY_RECEIVED)
                and expected is not None
                and expected < today
            )
        )
        if due and ordered:
            filled[supplier_id][0] += received or 0
            filled[supplier_id][1] += ordered
        if (
            ordered
            and status in (PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED)
            and received_at
        ):
            fills[supplier_id].append((received or 0) / ordered)  # closed: what it brought is final
    return {
        sid: _habits(
            sid, lateness.get(sid, []), after_change.get(sid, []), fills.get(sid, []), filled.get(sid)
        )
        for sid in ids
    }


def _habits(
    supplier_id: int, days: list[int], moved: list[int], fills: list[float], filled: list[int] | None
) -> SupplierHabits:
    late = sorted(max(0, d) for d in days)
    enough = supplier_min_sample()
    learned = len(late) >= enough
    p50, p90 = (nearest_rank(late, 50), nearest_rank(late, 90)) if learned else supplier_default_lateness()
    fill_known = len(fills) >= enough
    return SupplierHabits(
        supplier_id=supplier_id,
        sample=len(late),
        on_time_rate=(sum(1 for d in late if d == 0) / len(late)) if late else None,
        late_p50_days=p50,
        late_p90_days=p90,
        fill_rate=(filled[0] / filled[1]) if filled else None,
        learned=learned,
        late_samples=tuple(late) if learned else (),
        late_after_change=tuple(sorted(max(0, d) for d in moved)) if len(moved) >= enough else (),
        fill_p50=nearest_rank(fills, 50) if fill_known else 1.0,
        fill_p10=nearest_rank(fills, 10) if fill_known else 1.0,
    )


def purchase_order_incoming(
    *,
    habits: SupplierHabits,
    purchase_order_id: int,
    expected: date | None,
    promised_at_order: date | None,
    ordered: int,
    received: int,
) -> Incoming:
    """One open purchase-order line as the projection counts on it, by its supplier's habits.

    Its date was moved after it was ordered (`expected` is not the promise at
    order): the supplier's lateness against moved dates, or the shop's default
    until it has enough of them. Otherwise its lateness against first promises
    (the shop's default until learned). Units: the share of `ordered` its
    median delivery brings (earliest) and 9 in 10 bring (confident), less what
    already came, rounded down.
    """
    moved = promised_at_order is not None and expected is not None and expected != promised_at_order
    default_p50, default_p90 = supplier_default_lateness()
    if moved:
        samples, p50, p90 = habits.late_after_change, default_p50, default_p90
    else:
        samples, p50, p90 = habits.late_samples, habits.late_p50_days, habits.late_p90_days
    return Incoming(
        purchase_order_id=purchase_order_id,
        expected_date=expected,
        quantity=ordered - received,
        late_p50_days=p50,
        late_p90_days=max(p50, p90),
        late_samples=samples,
        counted_earliest=_counted(ordered, received, habits.fill_p50),
        counted_confident=_counted(ordered, received, habits.fill_p10),
    )


def _counted(ordered: int, received: int, share: float) -> int | None:
    """Units still to come from a line when a delivery brings `share` of it; None: all of them."""
    if share >= 1:
        return None
    return max(0, math.floor(ordered * share + 1e-9) - received)


@dataclass(frozen=True)
class HabitsInWords:
    on_time: str  # "80% on time (4 of 5 orders)"
    lateness: str  # "usually 2 days late, 9 in 10 within 6 days" or "learning: 3 of 5 orders needed"
    assumed: str  # until learned, the default lateness used meanwhile: "until then: usually 2 days late, ..."
    fill: str  # "96% of units delivered"
    sample: str  # "5 orders received"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def lateness_in_words(p50: int, p90: int) -> str:
    usually = "usually on time" if p50 == 0 else f"usually {_days(p50)} late"
    return f"{usually}, 9 in 10 {'on time' if p90 == 0 else 'within ' + _days(p90)}"


def supplier_habits_in_words(habits: SupplierHabits) -> HabitsInWords:
    """The figures as staff read them on the supplier pages and the dashboard (no queries)."""
    n = habits.sample
    on_time = (
        f"{round(habits.on_time_rate * 100)}% on time ({round(habits.on_time_rate * n)} of {n})"
        if habits.on_time_rate is not None
        else "no order received yet"
    )
    lateness, assumed = lateness_in_words(habits.late_p50_days, habits.late_p90_days), ""
    if not habits.learned:
        lateness, assumed = f"learning: {n} of {habits.min_sample} orders needed", f"until then: {lateness}"
    fill = f"{round(habits.fill_rate * 100)}% of units delivered" if habits.fill_rate is not None else "—"
    return HabitsInWords(
        on_time=on_time,
        lateness=lateness,
        assumed=assumed,
        fill=fill,
        sample=f"{n} order{'' if n == 1 else 's'} received",
    )
