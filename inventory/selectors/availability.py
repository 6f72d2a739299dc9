"""The one availability answer used everywhere, and the catalog filters that agree with it.

`availability_for_variants` answers for any number of variants in one query: one statement
(`_AVAILABILITY_PAGE_SQL`, plain SQL) reads the variants' free stock, waiting backorders, policy and
supplier, their open purchase-order lines, the suppliers' orders their habits are learned from and the
shop's closures (unless the caller passes the calendar). Product
pages, listings, the cart and checkout all ask it, so a customer never sees two
different answers. `variants_with_stock` computes the same numbers as ORM
annotations, for listings that filter on them in SQL (`available_now_q`,
`can_be_backordered_q`, `product_availability_filter`).

Reads only, no locks: checkout reads it for the quote, then locks and reads the numbers that
can change again (inventory.services.reservation).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from orders.models import OrderLine
from shop import formatting
from shop.models import Variant

from ..calendar import ShippingCalendar
from ..conf import inventory_defaults
from ..models import (
    BackorderMode,
    StockItem,
)
from ..projection import DateRange, Incoming, project_ready_date, project_ready_range
from .availability_sql import (
    _as_date,
    _as_datetime,
    _availability_rows,
    _incoming_order,
)
from .calendar import shipping_calendar_from_closures, shipping_calendar_remembered
from .suppliers import (
    SupplierHabits,
    purchase_order_incoming,
    supplier_default_lateness,
    supplier_habits_from_orders,
)


class AvailabilityStatus:
    """The five answers a customer can get. Plain constants (not a model field)."""

    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    BACKORDER = "backorder"
    OUT_OF_STOCK = "out_of_stock"
    DISCONTINUED = "discontinued"

    # Translated when shown (lazy): the badge, the product page, the cart.
    LABELS = {
        IN_STOCK: pgettext_lazy("availability", "In stock"),
        LOW_STOCK: pgettext_lazy("availability", "Low stock"),
        BACKORDER: pgettext_lazy("availability", "Backorder"),
        OUT_OF_STOCK: pgettext_lazy("availability", "Out of stock"),
        DISCONTINUED: pgettext_lazy("availability", "No longer available"),
    }
    # The same inside a sentence ("it is out of stock"): lower case in English, as German keeps its nouns.
    IN_A_SENTENCE = {
        IN_STOCK: pgettext_lazy("it is …", "in stock"),
        LOW_STOCK: pgettext_lazy("it is …", "low stock"),
        BACKORDER: pgettext_lazy("it is …", "backorder"),
        OUT_OF_STOCK: pgettext_lazy("it is …", "out of stock"),
        DISCONTINUED: pgettext_lazy("it is …", "no longer available"),
    }
    SCHEMA_ORG = {
        IN_STOCK: "https://schema.org/InStock",
        LOW_STOCK: "https://schema.org/LimitedAvailability",
        BACKORDER: "https://schema.org/BackOrder",
        OUT_OF_STOCK: "https://schema.org/OutOfStock",
        DISCONTINUED: "https://schema.org/Discontinued",
    }
    # Best first: a product's badge is the best status among its variants.
    RANK = {IN_STOCK: 0, LOW_STOCK: 1, BACKORDER: 2, OUT_OF_STOCK: 3, DISCONTINUED: 4}


def date_in_words(value: date) -> str:
    """A date as customers read it, with its weekday: "Tuesday 1 December 2026".

    Kept so that `from inventory.selectors import date_in_words` still works; it is
    `shop.formatting.date_in_words(value, weekday=True)`, which new code should call.
    """
    return formatting.date_in_words(value, weekday=True)


@dataclass(frozen=True)
class Availability:
    """What one variant can be sold as, right now."""

    variant_id: int
    status: str
    sellable_now: int  # units that can ship from stock now
    backorderable: int | None  # units that may still be backordered; None = no limit
    expected_date: date | None  # when the next backordered unit would ship: the confident end of the range
    message: str
    free_stock: int
    waiting_backorders: int
    lead_time_days: int
    overdue_grace_days: int
    discount_percent: Decimal | None = None
    today: date | None = None
    incoming: tuple[Incoming, ...] = field(default=(), repr=False)
    calendar: ShippingCalendar = field(default_factory=ShippingCalendar, repr=False)
    lead_time_late_days: tuple[int, int] = (0, 0)  # a lead-time date's lateness (p50, p90): its supplier's
    expected_range: DateRange | None = None  # expected_date is its confident end
    supplier_id: int | None = (
        None  # the variant's supplier (its latest purchase order's); None: never ordered
    )

    @property
    def label(self) -> str:
        return str(AvailabilityStatus.LABELS[self.status])

    @property
    def schema_org(self) -> str:
        return AvailabilityStatus.SCHEMA_ORG[self.status]

    @property
    def is_purchasable(self) -> bool:
        return self.sellable_now > 0 or self.backorderable is None or self.backorderable > 0

    @property
    def max_orderable(self) -> int | None:
        """Most units one order may take now; None means no limit."""
        if self.backorderable is None:
            return None
        return self.sellable_now + self.backorderable

    def split(self, quantity: int) -> tuple[int, int]:
        """(units from stock now, units to backorder) for an order of `quantity`.

        Raises ValueError when policy or the backorder limit does not allow it.
        """
        now = min(quantity, self.sellable_now)
        later = quantity - now
        if self.backorderable is not None and later > self.backorderable:
            raise ValueError(f"at most {self.max_orderable} can be ordered")
        return now, later

    def backorder_range(self, quantity: int) -> DateRange | None:
        """When all of `quantity` newly backordered units would ship (earliest, confident)."""
        if quantity <= 0:
            return None
        return self.project(
            units_ahead=self.waiting_backorders,
            quantity=quantity,
            free_now=max(self.free_stock - self.sellable_now, 0),
        )

    def backorder_date(self, quantity: int) -> date | None:
        """The confident end of `backorder_range`: the date recorded as promised."""
        span = self.backorder_range(quantity)
        return span.confident if span else None

    def project(
        self, *, units_ahead: int, quantity: int, free_now: int | None = None, today: date | None = None
    ) -> DateRange:
        """The projection for `quantity` units behind `units_ahead`, from this variant's supply, as of
        `today` (default: the day this answer was computed for). Waiting lines use the whole free stock."""
        return project_ready_range(
            units_ahead=units_ahead,
            quantity=quantity,
            free_now=self.free_stock if free_now is None else free_now,
            incoming=self.incoming,
            today=today or self.today or timezone.localdate(),
            lead_time_days=self.lead_time_days,
            overdue_grace_days=self.overdue_grace_days,
            calendar=self.calendar,
            lead_time_late_days=self.lead_time_late_days,
        )

    def project_stated(self, *, units_ahead: int, quantity: int, today: date) -> date:
        """When waiting units would ship by the suppliers' own dates (no lateness, every unit), as of
        `today`: the delay check's test of a real slip (orders.delays.detect)."""
        return project_ready_date(
            units_ahead=units_ahead,
            quantity=quantity,
            free_now=self.free_stock,
            incoming=self.incoming,
            today=today,
            lead_time_days=self.lead_time_days,
            overdue_grace_days=self.overdue_grace_days,
            calendar=self.calendar,
            confidence="stated",
        )


def variants_with_stock(queryset: QuerySet[Variant] | None = None) -> QuerySet[Variant]:
    """Variants annotated with free stock, waiting backorders and the effective policy.

    Annotations: stock_free, backorders_waiting, policy_mode, policy_discontinued,
    policy_limit. Usable for filtering listings in SQL (see `available_now_q`).
    """
    defaults = inventory_defaults()
    return _variants_with_free_stock(queryset).annotate(
        policy_mode=Coalesce(
            F("backorder_policy__mode"), Value(defaults.backorder_mode), output_field=CharField()
        ),
        policy_discontinued=Coalesce(
            F("backorder_policy__discontinued"), Value(False), output_field=BooleanField()
        ),
        policy_limit=F("backorder_policy__backorder_limit"),
    )


def _variants_with_free_stock(queryset: QuerySet[Variant] | None = None) -> QuerySet[Variant]:
    """Variants annotated with `stock_free` and `backorders_waiting`: what `available_now_q` reads."""
    queryset = Variant.objects.all() if queryset is None else queryset
    free = (
        StockItem.objects.filter(variant=OuterRef("pk"), warehouse__is_active=True)
        .values("variant")
        .annotate(total=Sum(F("on_hand") - F("allocated")))
        .values("total")
    )
    return queryset.annotate(
        stock_free=Coalesce(Subquery(free, output_field=IntegerField()), 0),
        backorders_waiting=OrderLine.objects.waiting_units_subquery("pk"),
    )


def available_now_q() -> Q:
    """Filter for `variants_with_stock()`: units can ship from stock now."""
    return Q(stock_free__gt=F("backorders_waiting"))


def can_be_backordered_q() -> Q:
    """Filter for `variants_with_stock()`: out of stock now but may be ordered on backorder."""
    return Q(
        stock_free__lte=F("backorders_waiting"), policy_mode=BackorderMode.ALLOW, policy_discontinued=False
    ) & (Q(policy_limit__isnull=True) | Q(policy_limit__gt=F("backorders_waiting")))


def product_availability_filter(*, kind: str) -> Exists | None:
    """An Exists() for a Product queryset: 'now' = available now, 'backorder' = can be backordered."""
    conditions = {"now": available_now_q, "backorder": can_be_backordered_q}
    if kind not in conditions:
        return None
    variants = variants_with_stock(Variant.objects.filter(product=OuterRef("pk"), is_active=True))
    return Exists(variants.filter(conditions[kind]()))


def _incoming_by_variant(rows: list[tuple], habits: dict[int, SupplierHabits]) -> dict[int, list[Incoming]]:
    """Open purchase-order lines (kind 2 of `_AVAILABILITY_PAGE_SQL`) as the projection counts on them,
    each by its supplier's habits."""
    result: dict[int, list[Incoming]] = defaultdict(list)
    for variant_id, po_id, expected, promised, ordered, received, supplier_id in rows:
        result[variant_id].append(
            purchase_order_incoming(
                habits=habits[supplier_id],
                purchase_order_id=po_id,
                expected=expected,
                promised_at_order=promised,
                ordered=ordered,
                received=received,
            )
        )
    return result


def availability_from_numbers(
    *,
    variant_id: int,
    free_stock: int,
    waiting_backorders: int,
    mode: str,
    discontinued: bool,
    backorder_limit: int | None,
    lead_time_days: int,
    low_stock_threshold: int,
    discount_percent: Decimal | None,
    incoming: Iterable[Incoming],
    today: date,
    overdue_grace_days: int,
    calendar: ShippingCalendar,
    lead_time_late_days: tuple[int, int],
    supplier_id: int | None = None,
) -> Availability:
    """The availability rules, applied to numbers already read. No queries."""
    incoming = tuple(incoming)
    sellable_now = max(free_stock - waiting_backorders, 0)
    if discontinued or mode != BackorderMode.ALLOW:
        backorderable: int | None = 0
    elif backorder_limit is None:
        backorderable = None
    else:
        backorderable = max(backorder_limit - waiting_backorders, 0)
    can_backorder = backorderable is None or backorderable > 0

    expected = span = None
    if can_backorder:
        span = project_ready_range(
            units_ahead=waiting_backorders,
            quantity=1,
            free_now=max(free_stock - sellable_now, 0),
            incoming=incoming,
            today=today,
            lead_time_days=lead_time_days,
            overdue_grace_days=overdue_grace_days,
            calendar=calendar,
            lead_time_late_days=lead_time_late_days,
        )
        expected = span.confident

    if sellable_now > 0:
        low = sellable_now <= low_stock_threshold
        status = AvailabilityStatus.LOW_STOCK if low else AvailabilityStatus.IN_STOCK
        message = (
            _("Only %(count)s left in stock") % {"count": sellable_now}
            if low
            else _("In stock, ready to ship")
        )
        if discontinued:
            message += _(" (this item will not be restocked)")
        elif can_backorder and expected is not None:
            message += _("; more can be ordered on backorder, %(when)s") % {
                "when": formatting.ships_in_words(span.earliest, span.confident)
            }
    elif discontinued:
        status = AvailabilityStatus.DISCONTINUED
        message = _("No longer available: this item will not be restocked")
    elif can_backorder:
        status = AvailabilityStatus.BACKORDER
        message = _("Available on backorder, %(when)s") % {
            "when": formatting.ships_in_words(span.earliest, span.confident)
        }
        if backorderable is not None:
            message += _(" (only %(count)s more can be backordered)") % {"count": backorderable}
    else:
        status = AvailabilityStatus.OUT_OF_STOCK
        message = _("Out of stock")
        if mode == BackorderMode.ALLOW:
            message = _("Out of stock: backorders for this item are full")

    return Availability(
        variant_id=variant_id,
        status=status,
        sellable_now=sellable_now,
        backorderable=backorderable,
        expected_date=expected,
        message=message,
        free_stock=free_stock,
        waiting_backorders=waiting_backorders,
        lead_time_days=lead_time_days,
        overdue_grace_days=overdue_grace_days,
        discount_percent=discount_percent if can_backorder else None,
        today=today,
        incoming=incoming,
        calendar=calendar,
        lead_time_late_days=lead_time_late_days,
        expected_range=span,
        supplier_id=supplier_id,
    )


def availability_for_variants(
    *, variant_ids: Iterable[int], today: date | None = None, calendar: ShippingCalendar | None = None
) -> dict[int, Availability]:
    """Availability of many variants in one query, whatever their number: the numbers, the open
    purchase-order lines, their suppliers' and the variants' suppliers' orders (their habits) and the
    shop's closures (unless `calendar` is given or a read scope already read it), in one statement."""
    ids = list(dict.fromkeys(variant_ids))
    if not ids:
        return {}
    defaults = inventory_defaults()
    today = today or timezone.localdate()
    calendar = calendar or shipping_calendar_remembered(today=today)
    rows, po_rows, orders, closures = [], [], [], []
    for row in _availability_rows(ids, today=today, closures=calendar is None):
        kind = row[0]
        if kind == 1:
            rows.append(row[1:11])
        elif kind == 2:
            po_rows.append((row[1], row[2], _as_date(row[11]), _as_date(row[12]), row[3], row[4], row[5]))
        elif kind == 3:
            orders.append(
                (row[1], row[8], _as_date(row[12]), _as_date(row[11]), row[2], row[3], _as_datetime(row[13]))
            )
        else:
            closures.append((_as_date(row[11]), _as_date(row[12])))
    if calendar is None:
        calendar = shipping_calendar_from_closures(closures=closures, today=today)
    po_rows.sort(key=_incoming_order)
    suppliers = {row[-1] for row in po_rows} | {row[6] for row in rows if row[6] is not None}
    habits = supplier_habits_from_orders(orders, supplier_ids=suppliers, today=today)
    incoming = _incoming_by_variant(po_rows, habits)
    default_late = supplier_default_lateness()
    result = {}
    for pk, free, waiting, limit, lead_time, threshold, supplier_id, mode, discontinued, discount in rows:
        habit = habits.get(supplier_id)
        result[pk] = availability_from_numbers(
            variant_id=pk,
            free_stock=int(free),
            waiting_backorders=int(waiting),
            mode=mode if mode is not None else defaults.backorder_mode,
            discontinued=bool(discontinued),
            backorder_limit=limit,
            lead_time_days=lead_time if lead_time is not None else defaults.lead_time_days,
            low_stock_threshold=threshold if threshold is not None else defaults.low_stock_threshold,
            # SQLite hands decimals back as numbers: through str() they keep their two places.
            discount_percent=None if discount is None else Decimal(str(discount)).quantize(Decimal("0.01")),
            incoming=incoming.get(pk, ()),
            today=today,
            overdue_grace_days=defaults.overdue_grace_days,
            calendar=calendar,
            lead_time_late_days=(habit.late_p50_days, habit.late_p90_days) if habit else default_late,
            supplier_id=supplier_id,
        )
    return result


def availability_for_variant(
    *, variant_id: int, today: date | None = None, calendar: ShippingCalendar | None = None
) -> Availability | None:
    return availability_for_variants(variant_ids=[variant_id], today=today, calendar=calendar).get(variant_id)


def availability_best(availabilities: Iterable[Availability]) -> Availability | None:
    """The best answer among a product's variants, for a listing badge."""
    return min(
        availabilities,
        key=lambda a: (AvailabilityStatus.RANK[a.status], a.expected_date or date.max),
        default=None,
    )
