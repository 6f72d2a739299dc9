"""The dashboard's "Suppliers" tile: how many suppliers are usually late, and the least reliable one,
from their learned habits (inventory.selectors.suppliers). Three queries, however many suppliers."""

from dataclasses import dataclass

from django.urls import reverse

from inventory.models import Supplier
from inventory.selectors.suppliers import lateness_in_words, supplier_habits, supplier_min_sample


@dataclass(frozen=True)
class SuppliersTile:
    value: str
    note: str
    url: str
    definition: str


def suppliers_tile() -> SuppliersTile:
    names = dict(Supplier.objects.values_list("pk", "name"))
    habits = supplier_habits(names)
    learned = [h for h in habits.values() if h.learned]
    learning = sum(1 for h in habits.values() if not h.learned and h.sample)
    late = [h for h in learned if h.late_p50_days > 0]
    needed = supplier_min_sample()
    if learned:
        worst = max(learned, key=lambda h: (h.late_p90_days, h.late_p50_days, -(h.on_time_rate or 0)))
        note = (
            f"learned suppliers usually late; least reliable: {names[worst.supplier_id]} "
            f"({lateness_in_words(worst.late_p50_days, worst.late_p90_days)})"
        )
    else:
        note = f"none has {needed} orders received yet"
    if learning:
        note += f"; {learning} still learning"
    return SuppliersTile(
        value=f"{len(late)} of {len(learned)}" if learned else "—",
        note=note,
        url=reverse("admin:inventory_supplier_changelist"),
        definition=(
            f"Suppliers with at least {needed} purchase orders received (learned) whose typical lateness "
            "(the median, per order: its last receipt minus the date promised when it was ordered, in "
            "calendar days) is 1 day or more. The least reliable is the one with the highest 90th "
            f"percentile. Still learning: fewer than {needed} orders received, at least one."
        ),
    )
