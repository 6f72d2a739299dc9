"""Demo inventory for `seed_demo`: warehouses, suppliers, a realistic mix of stock
situations and open purchase orders. Idempotent: it does nothing once the demo
warehouses hold stock. Every stock change goes through inventory.services.

The demo's opening stock alerts nobody: the low-stock checks its receipts start
(after commit, in the worker) would otherwise email every `STAFF_ALERT_EMAILS`
address about each variant the demo stocks with a few units. So, in the seeding's
own transaction, every variant the demo leaves at or below its threshold is
recorded as already low (`low_stock_mark_known`): those checks find no new
crossing. Staff hear of the next real crossing, once stock rose above the
threshold and fell again, as in any shop.
"""

import random
import sys
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from notifications.models import LowStockState
from shop.models import Variant

from .conf import inventory_defaults
from .models import BackorderMode, BackorderPolicy, PurchaseOrder, StockMovement, Supplier, Warehouse
from .selectors import availability_for_variants
from .services import purchase_order_create, purchase_order_receive, stock_receive_bulk

WAREHOUSES = [("MAIN", "Main warehouse", 0), ("NORTH", "North depot", 1)]
SUPPLIERS = [
    ("Alpine Gear Co.", "orders@alpinegear.example", 14),
    ("Harbour Textiles", "sales@harbourtextiles.example", 21),
    ("Kitchen Forge Ltd", "trade@kitchenforge.example", 10),
]

# Share of variants in each situation (the rest have plenty of stock).
MIX = [
    ("low", 0.15),  # 1-4 units left: "Only 3 left"
    ("backorder", 0.18),  # none left, backorders allowed, a purchase order is coming
    ("backorder_no_po", 0.05),  # none left, backorders allowed, lead-time estimate only
    ("limit", 0.04),  # backorders allowed up to a small limit
    ("deny", 0.08),  # none left, sell stock only: "Out of stock"
    ("discontinued", 0.05),  # no restock: "No longer available"
]


# The demo's "only a few left" items are on order already, but for this many: the handful that the
# dashboard's "Low stock, not on order" tile shows. The others get a line on one of the demo's purchase
# orders, of a fixed quantity (the seeded random sequence stays as it was).
LOW_LEFT_TO_REORDER = 3
LOW_REORDER_UNITS = 12
# Variants to come go 6 to a purchase order, up to this many orders; a bigger catalog (seed_demo
# --products 100000: about 60,000 variants to come) puts more lines on each, so the number of orders
# (each a round of queries and its own supply-changed pass) does not grow with the catalog.
DEMO_PURCHASE_ORDERS_MAX = 100


def low_stock_mark_known(
    *, variant_ids: Iterable[int], assume_low: bool = False, progress: bool = False
) -> int:
    """Record these variants' low-stock state as already told to staff, without any email.

    A variant is low when it is not discontinued and its sellable stock is at or below
    its threshold (its policy's, else INVENTORY_LOW_STOCK_THRESHOLD): the rule of
    `notifications.services.alerts.low_stock_check`, which emails staff only when it
    finds a variant low that its state does not say is low. `assume_low`: mark them
    all low, before a change that may make them low (the demo orders); the check that
    change starts resets those that are not. Call it in the seeding's transaction, or
    before the change. Returns how many are marked low.
    """
    ids = sorted(set(variant_ids))
    default = inventory_defaults().low_stock_threshold
    marked = 0
    starts = range(0, len(ids), 1000)
    bar = tqdm(
        starts, desc="low-stock states", unit=" thousand variants", disable=not progress, file=sys.stderr
    )
    for start in bar:
        # bounded queries, whatever the size of the catalog
        chunk = ids[start : start + 1000]
        if assume_low:
            low = set(chunk)
        else:
            policies = {
                pk: (threshold, discontinued)
                for pk, threshold, discontinued in BackorderPolicy.objects.filter(
                    variant_id__in=chunk
                ).values_list("variant_id", "low_stock_threshold", "discontinued")
            }
            low = set()
            for pk, availability in availability_for_variants(variant_ids=chunk).items():
                threshold, discontinued = policies.get(pk, (None, False))
                if not discontinued and availability.sellable_now <= (
                    default if threshold is None else threshold
                ):
                    low.add(pk)
        LowStockState.objects.bulk_create(
            [LowStockState(variant_id=pk, is_low=pk in low) for pk in chunk], ignore_conflicts=True
        )
        LowStockState.objects.filter(variant_id__in=sorted(low), is_low=False).update(is_low=True)
        LowStockState.objects.filter(variant_id__in=sorted(set(chunk) - low), is_low=True).update(
            is_low=False
        )
        marked += len(low)
    return marked


def seed_inventory(*, rng_seed: int = 2026, progress: bool = False) -> str:
    if StockMovement.objects.filter(warehouse__code__in=[c for c, _, _ in WAREHOUSES]).exists():
        return "Nothing to do: demo inventory already present"
    rng = random.Random(rng_seed)
    today = timezone.localdate()
    with transaction.atomic():
        warehouses = {}
        for code, name, priority in WAREHOUSES:
            warehouses[code], _ = Warehouse.objects.get_or_create(
                code=code, defaults={"name": name, "priority": priority}
            )
        suppliers = [
            Supplier.objects.get_or_create(name=n, defaults={"contact_email": e, "lead_time_days": d})[0]
            for n, e, d in SUPPLIERS
        ]
        variants = list(Variant.objects.order_by("pk").values_list("pk", flat=True))
        situation = {}
        for variant_id in variants:
            roll, acc, chosen = rng.random(), 0.0, "plenty"
            for name, share in MIX:
                acc += share
                if roll < acc:
                    chosen = name
                    break
            situation[variant_id] = chosen

        policies = []
        for variant_id, kind in situation.items():
            if kind in ("backorder", "backorder_no_po", "limit"):
                policies.append(
                    BackorderPolicy(
                        variant_id=variant_id,
                        mode=BackorderMode.ALLOW,
                        backorder_limit=rng.choice([5, 8]) if kind == "limit" else None,
                        lead_time_days=rng.choice([14, 21, 28]),
                        backorder_discount_percent=Decimal(rng.choice([0, 5, 10])) or None,
                    )
                )
            elif kind == "discontinued":
                policies.append(BackorderPolicy(variant_id=variant_id, discontinued=True))
            elif kind == "plenty" and rng.random() < 0.3:
                policies.append(BackorderPolicy(variant_id=variant_id, mode=BackorderMode.ALLOW))
        BackorderPolicy.objects.bulk_create(policies, ignore_conflicts=True, batch_size=1000)

        rows = []
        for variant_id, kind in situation.items():
            if kind == "plenty":
                rows.append((variant_id, warehouses["MAIN"].pk, rng.randint(15, 80)))
                if rng.random() < 0.4:
                    rows.append((variant_id, warehouses["NORTH"].pk, rng.randint(5, 30)))
            elif kind == "low":
                rows.append((variant_id, warehouses["MAIN"].pk, rng.randint(1, 4)))
            elif kind == "discontinued" and rng.random() < 0.5:
                rows.append((variant_id, warehouses["MAIN"].pk, 2))
        units = 0
        with tqdm(total=len(rows), unit=" stock rows", disable=not progress, file=sys.stderr) as bar:
            for start in range(0, len(rows), 10_000):  # in parts, for the progress bar
                part = rows[start : start + 10_000]
                units += stock_receive_bulk(rows=part, reason="received", note="demo opening stock")
                bar.update(len(part))

        po_count = 0
        coming = [v for v, k in situation.items() if k in ("backorder", "limit", "deny")]
        per_order = max(6, -(-len(coming) // DEMO_PURCHASE_ORDERS_MAX))
        po_total = -(-len(coming) // per_order)
        low_on_order = [v for v, k in situation.items() if k == "low"][LOW_LEFT_TO_REORDER:]
        starts = range(0, len(coming), per_order)
        for n, start in enumerate(
            tqdm(starts, unit=" purchase orders", disable=not progress, file=sys.stderr)
        ):
            chunk = coming[start : start + per_order]
            supplier = suppliers[n % len(suppliers)]
            reference = f"PO-DEMO-{n + 1:03d}"
            if PurchaseOrder.objects.filter(reference=reference).exists():
                continue
            lines = {v: rng.choice([6, 10, 12, 20]) for v in chunk}
            lines.update({v: LOW_REORDER_UNITS for v in low_on_order[n::po_total]})
            po = purchase_order_create(
                supplier_id=supplier.pk,
                warehouse_id=warehouses["MAIN"].pk,
                reference=reference,
                lines=lines,
                expected_date=today + timedelta(days=7 + 7 * (n % 4) + rng.randint(0, 3)),
                status="ordered",
            )
            po_count += 1
            if n == 0:  # one delivery already partly arrived
                first = po.lines.filter(variant_id__in=chunk).order_by("pk").first()
                purchase_order_receive(purchase_order_id=po.pk, quantities={first.pk: 2})
        # Before the commit that queues the low-stock checks of these receipts (see the docstring).
        low_stock_mark_known(variant_ids=variants, progress=progress)
    counts = {k: sum(1 for v in situation.values() if v == k) for k in ["plenty"] + [m for m, _ in MIX]}
    mix = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
    return f"Stocked {len(variants)} variants in {len(warehouses)} warehouses ({units} units; {mix}); {po_count} open purchase orders"
