"""The simulated shop's world: its parameters, the suppliers' habits, and the reference data.

Everything random is drawn from streams seeded by `Params.seed`, one stream per concern (catalog,
demand, supply), so a change in how many orders a day brings never changes what a supplier does.
The suppliers' habits are what they are: they are drawn here, never from anything the shop predicts.
"""

import math
import random
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal

# Four habits, dealt round-robin to the suppliers.
PUNCTUAL = "punctual"  # delivers everything on the date it gave
WEEK_LATE = "week_late"  # always about a week late (6 to 8 days)
ERRATIC = "erratic"  # late by anything from 0 to 14 days, uniformly
SHORT = "short"  # on time, but only 60-90% of the units; the rest never comes
HABITS = (PUNCTUAL, WEEK_LATE, ERRATIC, SHORT)


@dataclass(frozen=True)
class Params:
    seed: int = 2026
    days: int = 90  # days of demand
    drain_days: int = 45  # then no new orders: deliveries and shipping go on until the queues empty
    variants: int = 40
    suppliers: int = 12
    orders_per_day: float = 10.0
    start: date = date(2026, 3, 2)  # a Monday; the 90 days cross Easter and two bank holidays (GB-ENG)
    announce_share: float = 0.5  # of the purchase orders that will be late, the share announced ahead
    announce_days: tuple[int, int] = (1, 5)  # announced this many days before the date first given
    lead_times: tuple[int, int] = (5, 21)  # suppliers' lead times, calendar days
    # Purchase orders each supplier delivered before day 0, by its habit (the shop's history with it);
    # 0: a shop meeting all its suppliers on day 0 (the cold start, every supplier on the defaults).
    history_orders: int = 12

    def as_json(self) -> dict:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        return data


@dataclass(frozen=True)
class SupplierPlan:
    name: str
    habit: str
    lead_time_days: int


@dataclass(frozen=True)
class VariantPlan:
    sku: str
    price: Decimal
    supplier: int  # index into the supplier plans
    weight: float  # share of demand
    initial_units: int
    backorder_limit: int | None


@dataclass(frozen=True)
class Delivery:
    """What a supplier will really do with one purchase order, decided when it is ordered."""

    late_days: int  # calendar days after the date it gave
    fill: float  # share of each line's units that comes
    announce_days_ahead: int | None  # it tells us the new date this many days before; None: it does not


@dataclass
class World:
    params: Params
    suppliers: list[SupplierPlan]
    variants: list[VariantPlan]
    rng_demand: random.Random = field(repr=False)
    rng_supply: random.Random = field(repr=False)
    rng_history: random.Random = field(repr=False)


def world_plan(params: Params) -> World:
    """The suppliers and the catalog, drawn from the seed (pure: no database)."""
    rng = random.Random(f"{params.seed}:catalog")
    suppliers = [
        SupplierPlan(
            name=f"Supplier {n + 1:02d} ({HABITS[n % len(HABITS)].replace('_', ' ')})",
            habit=HABITS[n % len(HABITS)],
            lead_time_days=rng.randint(*params.lead_times),
        )
        for n in range(params.suppliers)
    ]
    raw = [1 / (n + 1) ** 0.8 for n in range(params.variants)]  # a few best sellers, a long tail
    rng.shuffle(raw)
    total = sum(raw)
    units_per_day = params.orders_per_day * 1.6 * 1.4  # lines per order, units per line (demand below)
    variants = []
    for n, w in enumerate(raw):
        share = w / total
        variants.append(
            VariantPlan(
                sku=f"SIM-{n + 1:03d}",
                price=Decimal(rng.randrange(900, 19900)) / 100,
                supplier=n % params.suppliers,
                weight=share,
                initial_units=round(share * units_per_day * rng.uniform(2, 14)),
                backorder_limit=None if rng.random() < 0.8 else rng.randint(15, 40),
            )
        )
    return World(
        params=params,
        suppliers=suppliers,
        variants=variants,
        rng_demand=random.Random(f"{params.seed}:demand"),
        rng_supply=random.Random(f"{params.seed}:supply"),
        rng_history=random.Random(f"{params.seed}:history"),
    )


def delivery_draw(*, habit: str, rng: random.Random, params: Params) -> Delivery:
    """The supplier's real behaviour on one purchase order (its habit, nothing else)."""
    late, fill = 0, 1.0
    if habit == WEEK_LATE:
        late = rng.randint(6, 8)
    elif habit == ERRATIC:
        late = rng.randint(0, 14)
    elif habit == SHORT:
        fill = rng.uniform(0.6, 0.9)
    ahead = None
    if late > 0 and rng.random() < params.announce_share:
        ahead = rng.randint(*params.announce_days)
    return Delivery(late_days=late, fill=fill, announce_days_ahead=ahead)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth): the number of orders in a day."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def basket_draw(world: World) -> list[tuple[int, int]]:
    """One customer's basket: 1-3 different variants (by popularity), 1-3 units each (mostly 1)."""
    rng = world.rng_demand
    weights = [v.weight for v in world.variants]
    lines = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
    picked: list[int] = []
    while len(picked) < lines:
        n = rng.choices(range(len(world.variants)), weights=weights)[0]
        if n not in picked:
            picked.append(n)
    return [(n, rng.choices([1, 2, 3], weights=[7, 2, 1])[0]) for n in picked]


def reference_data_create(world: World) -> dict:
    """The catalog, warehouse, suppliers and backorder policies, as staff enter them in the admin.

    These are plain reference data with no service (docs/architecture.md, "Who may write table Y":
    the admin); each row is saved through a model form, with the validation the admin runs.
    Returns {"warehouse": id, "suppliers": [ids], "variants": [ids], "history_variants": [ids]} in
    plan order. A history variant (one per supplier, not for sale) is what its past orders were for:
    the supplier's habits are learned per supplier, and the catalog's stock stays the plan's.
    """
    from django.forms import modelform_factory

    from inventory.models import BackorderMode, BackorderPolicy, Supplier, Warehouse
    from shop.models import Category, Product, Variant

    def save(model, data: dict):
        form = modelform_factory(model, fields=list(data))(data=data)
        if not form.is_valid():
            raise ValueError(f"{model.__name__}: {form.errors.as_text()}")
        return form.save()

    warehouse = save(
        Warehouse, {"name": "Simulated warehouse", "code": "SIM", "priority": 0, "is_active": True}
    )
    category = save(Category, {"name": "Simulated", "slug": "simulated"})
    suppliers = [
        save(
            Supplier,
            {
                "name": s.name,
                "contact_email": f"supplier{n + 1}@example.com",
                "lead_time_days": s.lead_time_days,
            },
        )
        for n, s in enumerate(world.suppliers)
    ]
    variant_ids = []
    for v in world.variants:
        product = save(Product, {"name": f"Item {v.sku}", "slug": v.sku.lower(), "category": category.pk})
        variant = save(
            Variant,
            {"product": product.pk, "sku": v.sku, "price": v.price, "option_values": "{}", "is_active": True},
        )
        save(
            BackorderPolicy,
            {
                "variant": variant.pk,
                "mode": BackorderMode.ALLOW,
                "backorder_limit": v.backorder_limit,
                # The variant's lead time is its supplier's: the naive date ("today + lead time") uses it.
                "lead_time_days": world.suppliers[v.supplier].lead_time_days,
            },
        )
        variant_ids.append(variant.pk)
    history_ids = []
    if world.params.history_orders:
        past = save(Product, {"name": "Past orders", "slug": "past-orders", "category": category.pk})
        for n in range(len(suppliers)):
            variant = save(
                Variant,
                {"product": past.pk, "sku": f"SIM-PAST-{n + 1:02d}", "price": "1.00", "option_values": "{}"},
            )  # not active: never for sale
            history_ids.append(variant.pk)
    return {
        "warehouse": warehouse.pk,
        "suppliers": [s.pk for s in suppliers],
        "variants": variant_ids,
        "history_variants": history_ids,
    }


def next_day(day: date) -> date:
    return day + timedelta(days=1)
