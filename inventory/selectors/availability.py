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
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection
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
from django.db.models.expressions import RawSQL
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
    OPEN_PO_STATUSES,
    BackorderMode,
    BackorderPolicy,
    MovementReason,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ShopClosure,
    StockItem,
    StockMovement,
    Warehouse,
)
from ..projection import DateRange, Incoming, project_ready_date, project_ready_range
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


# The numbers behind availability, for variants by id: the plain-SQL twin of
# `variants_with_stock` above (the same sums and policy; the waiting filter is
# `orders.querysets.WAITING`), written out once. Parity test:
# inventory/tests/test_demo.py::test_availability_reads_the_same_numbers_as_the_listing_filters.
# The last column is the variant's supplier, by the replenishment report's rule (its most recent
# purchase order not cancelled: `inventory.console.reports.replenishment`; parity test:
# inventory/tests/test_dates_learned.py::test_a_variants_supplier_is_the_replenishment_reports).
# A variant's free stock and its waiting units, for the variant row `{variant}` (a table or alias).
_FREE_STOCK_SQL = """COALESCE((SELECT SUM(si.on_hand - si.allocated)
                   FROM {stock_item} si JOIN {warehouse} w ON w.id = si.warehouse_id
                  WHERE si.variant_id = {variant}.id AND w.is_active), 0)"""
_WAITING_SQL = """COALESCE((SELECT SUM(l.quantity_backordered) FROM {order_line} l
                  WHERE l.variant_id = {variant}.id AND l.quantity_backordered > 0), 0)"""
_AVAILABILITY_NUMBERS_SQL = """
SELECT v.id AS variant_id,
       {free_stock} AS free_stock,
       {waiting} AS waiting,
       p.mode AS mode, p.discontinued AS discontinued, p.backorder_limit AS backorder_limit,
       p.lead_time_days AS lead_time_days, p.low_stock_threshold AS low_stock_threshold,
       p.backorder_discount_percent AS discount,
       (SELECT po.supplier_id FROM {po_line} pl JOIN {po} po ON po.id = pl.purchase_order_id
         WHERE pl.variant_id = v.id AND po.status <> %s
         ORDER BY po.created_at DESC, po.id DESC LIMIT 1) AS supplier_id
  FROM {variant} v LEFT JOIN {policy} p ON p.variant_id = v.id
 WHERE v.id IN ({ids})
"""

# Everything availability reads, in one statement (one round trip for a page, whatever its number of
# variants): kind 1, the numbers above; kind 2, the open purchase-order lines still to arrive (as the
# ORM query of `_incoming_rows` before it: open orders, lines not received in full); kind 3, every
# order not a draft of the suppliers of those (`suppliers._supplier_habits`' rows: its units ordered
# and received and its last receipt); kind 4, the closures not ended (`calendar._shipping_calendar`),
# only when the calendar is not known yet. Columns are shared by kind so that each keeps its type:
#   kind  c1        c2         c3        c4     c5          c6         c7        c8     c9    c10
#   1     variant   free       waiting   limit  lead time   threshold  supplier  mode   disc. discount
#   2     variant   order      ordered   recd   supplier
#   3     supplier  ordered    received                                          status
#   (c11, c12: kind 2 and 3 the expected and promised dates, kind 4 the closure's first and last day;
#    c13: kind 3 the last receipt). Portable: SQLite and PostgreSQL.
_AVAILABILITY_PAGE_SQL = """
WITH nums AS ({numbers}),
inc AS (
  SELECT pl.variant_id AS variant_id, pl.purchase_order_id AS purchase_order_id,
         po.expected_date AS expected_date, po.promised_date_at_order AS promised,
         pl.quantity_ordered AS ordered, pl.quantity_received AS received, po.supplier_id AS supplier_id
    FROM {po_line} pl JOIN {po} po ON po.id = pl.purchase_order_id
   WHERE pl.variant_id IN ({ids}) AND po.status IN (%s, %s) AND pl.quantity_received < pl.quantity_ordered
)
SELECT 1, variant_id, free_stock, waiting, backorder_limit, lead_time_days, low_stock_threshold,
       supplier_id, mode, discontinued, discount, NULL, NULL, CAST(NULL AS TIMESTAMP WITH TIME ZONE)
  FROM nums
UNION ALL
SELECT 2, variant_id, purchase_order_id, ordered, received, supplier_id, NULL,
       NULL, NULL, NULL, NULL, expected_date, promised, NULL
  FROM inc
UNION ALL
SELECT 3, po.supplier_id,
       (SELECT SUM(ol.quantity_ordered) FROM {po_line} ol WHERE ol.purchase_order_id = po.id),
       (SELECT SUM(ol.quantity_received) FROM {po_line} ol WHERE ol.purchase_order_id = po.id),
       NULL, NULL, NULL, NULL, po.status, NULL, NULL, po.expected_date, po.promised_date_at_order,
       (SELECT MAX(sm.created_at) FROM {movement} sm JOIN {po_line} ml ON ml.id = sm.po_line_id
         WHERE sm.reason = %s AND ml.purchase_order_id = po.id)
  FROM {po} po
 WHERE po.status <> %s
   AND po.supplier_id IN (SELECT supplier_id FROM nums WHERE supplier_id IS NOT NULL
                          UNION SELECT supplier_id FROM inc)
{closures}"""

_CLOSURES_SQL = """UNION ALL
SELECT 4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, starts_on, ends_on, NULL
  FROM {closure} WHERE ends_on >= %s
"""


def _free_stock_sql(*, variant: str) -> str:
    return _FREE_STOCK_SQL.format(
        stock_item=StockItem._meta.db_table, warehouse=Warehouse._meta.db_table, variant=variant
    )


def _waiting_sql(*, variant: str) -> str:
    return _WAITING_SQL.format(order_line=OrderLine._meta.db_table, variant=variant)


def can_ship_now_expression() -> RawSQL:
    """For a Variant queryset: whether units can ship from stock now (free stock above the waiting
    units), as `available_now_q` on `variants_with_stock` says, written with the SQL availability
    reads (`_AVAILABILITY_NUMBERS_SQL`): cheap to build for a page that asks only this."""
    table = Variant._meta.db_table
    return RawSQL(
        f"({_free_stock_sql(variant=table)} > {_waiting_sql(variant=table)})",
        (),
        output_field=BooleanField(),
    )


def _as_date(value) -> date | None:
    """A date column of `_AVAILABILITY_PAGE_SQL`: SQLite may hand it back as its ISO text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _as_datetime(value) -> datetime | None:
    """A timestamp column: SQLite may hand it back as its text, in UTC without a zone."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def _availability_rows(ids: list[int], *, today: date, closures: bool) -> list[tuple]:
    """The rows of `_AVAILABILITY_PAGE_SQL` for variants `ids`: one query."""
    marks = ", ".join(["%s"] * len(ids))
    numbers = _AVAILABILITY_NUMBERS_SQL.format(
        free_stock=_free_stock_sql(variant="v"),
        waiting=_waiting_sql(variant="v"),
        variant=Variant._meta.db_table,
        policy=BackorderPolicy._meta.db_table,
        po_line=PurchaseOrderLine._meta.db_table,
        po=PurchaseOrder._meta.db_table,
        ids=marks,
    )
    sql = _AVAILABILITY_PAGE_SQL.format(
        numbers=numbers,
        po_line=PurchaseOrderLine._meta.db_table,
        po=PurchaseOrder._meta.db_table,
        movement=StockMovement._meta.db_table,
        ids=marks,
        closures=_CLOSURES_SQL.format(closure=ShopClosure._meta.db_table) if closures else "",
    )
    params = [
        PurchaseOrderStatus.CANCELLED.value,
        *ids,
        *ids,
        *(status.value for status in OPEN_PO_STATUSES),
        MovementReason.RECEIVED.value,
        PurchaseOrderStatus.DRAFT.value,
    ]
    if closures:
        params.append(today)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _incoming_order(row: tuple) -> tuple:
    """The order of `_incoming_rows` (expected date, then order), with the database's place for an
    order without a date: last on PostgreSQL, first on SQLite, as the ORM's ORDER BY put it."""
    expected = row[2]
    if expected is None:
        return (connection.vendor == "postgresql", date.min, row[1])
    return (False, expected, row[1])


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
