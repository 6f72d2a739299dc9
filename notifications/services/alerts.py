"""Low-stock alerts for staff: one email per staff address when a variant first runs low.

A variant's `LowStockState` row remembers that it is low, so staff hear of a
crossing once, and again only after stock rose above the threshold and fell
again.

The check runs after each stock change (`notifications.tasks.check_low_stock`, a broker message);
`low_stock_sweep` (beat, every LOW_STOCK_SWEEP_EVERY) checks again every variant whose stock moved
within LOW_STOCK_SWEEP_WINDOW, so a lost message or a worker killed while it held one delays an alert
by minutes, not until the variant's next stock change.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.conf import inventory_defaults
from inventory.models import BackorderPolicy
from inventory.selectors import availability_for_variants, variants_moved_since

from ..locks import low_stock_states_lock
from ..models import LowStockState, NotificationKind
from .outbox import notifications_insert

LOW_STOCK_SWEEP_EVERY = timedelta(minutes=10)  # the beat entry's period (config/settings_parts/workers.py)
# Longer than the period, so a movement is seen by at least one sweep even if one run is late.
LOW_STOCK_SWEEP_WINDOW = timedelta(minutes=15)
LOW_STOCK_SWEEP_CHUNK = 500  # variants per check (one transaction each)


def low_stock_check(*, variant_ids: Iterable[int]) -> list[int]:
    """Email staff when a variant's sellable stock first falls to its low-stock threshold or below.

    Once per crossing: the variant's `LowStockState` row remembers it is low
    until stock rises above the threshold again. Rows are locked (pk order)
    before availability is read, so concurrent checks of one variant run one
    after the other and see each other's result. Discontinued variants never
    alert (nothing will be reordered). Returns the variants that crossed now.
    """
    ids = sorted(set(variant_ids))
    if not ids:
        return []
    default_threshold = inventory_defaults().low_stock_threshold
    policies = {
        variant_id: (threshold, discontinued)
        for variant_id, threshold, discontinued in BackorderPolicy.objects.filter(
            variant_id__in=ids
        ).values_list("variant_id", "low_stock_threshold", "discontinued")
    }
    with transaction.atomic():
        LowStockState.objects.bulk_create([LowStockState(variant_id=pk) for pk in ids], ignore_conflicts=True)
        states = low_stock_states_lock(ids)
        availability = availability_for_variants(variant_ids=ids)
        crossed, risen, thresholds = [], [], {}
        for state in states:
            if state.variant_id not in availability:
                continue
            threshold, discontinued = policies.get(state.variant_id, (None, False))
            thresholds[state.variant_id] = default_threshold if threshold is None else threshold
            low = (
                not discontinued
                and availability[state.variant_id].sellable_now <= thresholds[state.variant_id]
            )
            if low and not state.is_low:
                crossed.append(state)
            elif not low and state.is_low:
                risen.append(state.pk)
        LowStockState.objects.filter(pk__in=risen, is_low=True).update(is_low=False)
        LowStockState.objects.filter(pk__in=[s.pk for s in crossed], is_low=False).update(
            is_low=True, crossings=F("crossings") + 1
        )
        notifications_insert(
            rows=[
                {
                    "kind": NotificationKind.LOW_STOCK_ALERT,
                    "recipient": recipient,
                    # One key per staff address: a Notification has one recipient.
                    "dedupe_key": f"low-stock:{state.variant_id}:{state.crossings + 1}:{recipient.lower()}",
                    "context": {"variant_id": state.variant_id, "threshold": thresholds[state.variant_id]},
                }
                for state in crossed
                for recipient in getattr(settings, "STAFF_ALERT_EMAILS", [])
            ]
        )
    return [state.variant_id for state in crossed]


def low_stock_sweep(*, now: datetime | None = None) -> list[int]:
    """Check every variant whose stock moved within LOW_STOCK_SWEEP_WINDOW (`low_stock_check`, in
    chunks); returns the variants that crossed now. Idempotent: a crossing already alerted is
    remembered by its `LowStockState`, so the variants a message checked already give nothing new."""
    ids = variants_moved_since((now or timezone.now()) - LOW_STOCK_SWEEP_WINDOW)
    crossed: list[int] = []
    for start in range(0, len(ids), LOW_STOCK_SWEEP_CHUNK):
        crossed += low_stock_check(variant_ids=ids[start : start + LOW_STOCK_SWEEP_CHUNK])
    return crossed
