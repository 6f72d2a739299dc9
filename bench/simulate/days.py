"""The simulated days: every change goes through the shop's own services, at its simulated time.

A day, in the order its events happen (`_day_events`):

- 06:00 the daily delay scan (`orders.tasks.scan_delays`, as beat runs it);
- every hour from 07:00 to 22:00 the beat task that emails the delay notices that are due
  (`send_due_delay_notices`; the real one runs every minute, so an email may go out up to an hour
  later here than in the shop, never on another day);
- 08:00 suppliers that will be late tell us the new date, some days ahead, on the supplier page's
  service (`purchase_order_supplier_propose`, which is `purchase_order_set_expected_date` as the
  supplier: the delay check and its emails follow);
- 09:00 deliveries, on each supplier's real date, received by `purchase_order_receive` (its
  "stock arrived" task runs the allocation pass in process, as the suite's eager tasks do); a short
  delivery's missing units never come, so staff close the order (`purchase_order_cancel`);
- from 08:00 to 22:00 customers order (`order_place`, the test card, split shipping);
- 17:00 on shipping days, every order with units set aside ships (`order_ship`);
- 17:30 on shipping days, staff order what the replenishment report suggests: one draft per
  supplier (`replenishment_rows`, `group_suggestions_by_supplier`, `purchase_order_create`), the
  supplier's date (today + its lead time, on a day the shop receives) and `purchase_order_mark_ordered`.

Time moves with time-machine; tasks run in process (CELERY_TASK_ALWAYS_EAGER), so each one runs
when its transaction commits, at the simulated time.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .world import Delivery, World, basket_draw, delivery_draw, poisson

CARD = "4242 4242 4242 4242"
ADDRESS = {
    "full_name": "Simulated Customer",
    "address_line1": "1 Queue Street",
    "city": "London",
    "postcode": "N1 9GU",
    "country": "GB",
}


@dataclass
class PlannedDelivery:
    purchase_order_id: int
    supplier_habit: str
    given_date: date  # the date the supplier gave when it took the order
    arrives: date  # when it really comes (a day the shop receives)
    announce_on: date | None  # when it tells us the new date
    fill: float


@dataclass
class Counters:
    orders_placed: int = 0
    orders_refused: int = 0
    purchase_orders: int = 0
    deliveries: int = 0
    slips_announced: int = 0
    shipments: int = 0


class Simulation:
    """The shop for `world.params.days` days of demand, then `drain_days` days without new orders."""

    def __init__(self, world: World, ids: dict, *, progress: Callable[[str], None] | None = None):
        from inventory.selectors.calendar import shipping_calendar

        self.world = world
        self.params = world.params
        self.ids = ids
        self.progress = progress or (lambda _msg: None)
        self.calendar = shipping_calendar(today=self.params.start)
        self.deliveries: dict[int, PlannedDelivery] = {}
        self.counters = Counters()
        self.supplier_habit = {sid: s.habit for sid, s in zip(ids["suppliers"], world.suppliers, strict=True)}
        self._keys = 0

    def _key(self, what: str) -> str:
        self._keys += 1
        return f"simulate-{self.params.seed}-{what}-{self._keys}"

    @staticmethod
    def _at(day: date, hour: int, minute: int = 0) -> datetime:
        from django.utils import timezone

        return timezone.make_aware(datetime.combine(day, time(hour, minute)))

    # --- the run -----------------------------------------------------------------------------

    def run(self, traveller) -> None:
        """The history with the suppliers; day 0 stocks the shelves; then each day's events in time order."""
        start = self.params.start
        self._history(traveller)
        traveller.move_to(self._at(start - timedelta(days=1), 9))
        self._initial_stock()
        last = self.params.days + self.params.drain_days
        for n in range(last):
            day = start + timedelta(days=n)
            demand = n < self.params.days
            for when, _seq, action in sorted(self._day_events(day, demand=demand), key=lambda e: e[:2]):
                traveller.move_to(when)
                action()
            if n % 10 == 9:
                self.progress(f"day {n + 1}/{last}: {self.counters}")
            if not demand and self._nothing_waits():
                self.progress(f"day {n + 1}: no line waits any more, the run ends")
                break

    def _day_events(self, day: date, *, demand: bool) -> list[tuple[datetime, int, Callable[[], None]]]:
        from orders.tasks import scan_delays, send_due_delay_notices

        events = [(self._at(day, 6), 0, scan_delays)]
        events += [(self._at(day, h), 1, send_due_delay_notices) for h in range(7, 23)]
        events.append((self._at(day, 8), 2, lambda: self._announce(day)))
        events.append((self._at(day, 9), 3, lambda: self._receive(day)))
        if demand:
            rng = self.world.rng_demand
            for _ in range(poisson(rng, self.params.orders_per_day)):
                minute = rng.randrange(8 * 60, 22 * 60)
                basket = basket_draw(self.world)
                events.append((self._at(day, minute // 60, minute % 60), 4, lambda b=basket: self._order(b)))
        if self.calendar.is_shipping_day(day):
            events.append((self._at(day, 17), 5, self._ship))
            events.append((self._at(day, 17, 30), 6, lambda: self._replenish(day)))
        return events

    def _nothing_waits(self) -> bool:
        from orders.models import OrderLine

        return not OrderLine.objects.waiting().exists()

    # --- stock and purchase orders --------------------------------------------------------------

    def _history(self, traveller) -> None:
        """Before day 0: `history_orders` purchase orders per supplier, one a week, for its history
        variant (not for sale), each delivered by the supplier's habit (a stream of its own) through
        the same services as later: ordered, a late one announced or not, received, a short one closed.
        All of it is over two weeks before day 0; the counters start at day 0."""
        n = self.params.history_orders
        if not n:
            return
        start = self.params.start
        first = start - timedelta(days=16 + 7 * n + max(s.lead_time_days for s in self.world.suppliers) + 14)
        orders: dict[date, list[int]] = {}
        for s_index in range(len(self.world.suppliers)):
            for k in range(n):
                placed = first + timedelta(days=7 * k + s_index % 7)
                orders.setdefault(placed, []).append(s_index)
        day = first
        while day < start - timedelta(days=1):
            traveller.move_to(self._at(day, 8))
            self._announce(day)
            traveller.move_to(self._at(day, 9))
            self._receive(day)
            traveller.move_to(self._at(day, 17, 30))
            for s_index in orders.get(day, []):
                self._history_order(day, s_index)
            day += timedelta(days=1)
        if self.deliveries:
            raise RuntimeError(f"history deliveries still open on day 0: {sorted(self.deliveries)}")
        self.counters = Counters()

    def _history_order(self, day: date, s_index: int) -> None:
        from inventory.services import purchase_order_create

        supplier = self.world.suppliers[s_index]
        supplier_id = self.ids["suppliers"][s_index]
        given = self.calendar.next_shipping_day(day + timedelta(days=supplier.lead_time_days))
        po = purchase_order_create(
            supplier_id=supplier_id,
            warehouse_id=self.ids["warehouse"],
            reference=f"SIM-PAST-{s_index + 1:02d}-{day:%Y%m%d}",
            lines={self.ids["history_variants"][s_index]: 20},
            expected_date=given,
            status="ordered",
        )
        draw = delivery_draw(habit=supplier.habit, rng=self.world.rng_history, params=self.params)
        self._plan_delivery(po.pk, supplier.habit, given, draw, earliest_announce=day + timedelta(days=1))

    def _initial_stock(self) -> None:
        """The shelves on day 0: one purchase order per supplier for its variants' starting units,
        received at once. It also makes each supplier the variants' supplier for replenishment."""
        from django.utils import timezone

        from inventory.services import purchase_order_create, purchase_order_receive

        today = timezone.localdate()
        for s_index, supplier_id in enumerate(self.ids["suppliers"]):
            lines = {
                self.ids["variants"][n]: max(v.initial_units, 1)
                for n, v in enumerate(self.world.variants)
                if v.supplier == s_index
            }
            if not lines:
                continue
            po = purchase_order_create(
                supplier_id=supplier_id,
                warehouse_id=self.ids["warehouse"],
                reference=f"SIM-START-{s_index + 1:02d}",
                lines=lines,
                expected_date=today,
                status="ordered",
            )
            purchase_order_receive(purchase_order_id=po.pk)

    def _replenish(self, day: date) -> None:
        """Staff order what the replenishment report suggests; the supplier gives its date."""
        from django.utils import timezone

        from inventory.console.replenishment import next_draft_reference
        from inventory.console.reports import group_suggestions_by_supplier, replenishment_rows
        from inventory.models import Supplier
        from inventory.services import (
            purchase_order_create,
            purchase_order_mark_ordered,
            purchase_order_set_expected_date,
        )

        rows = [r for r in replenishment_rows(now=timezone.now()) if r.suggested > 0]
        groups, _skipped = group_suggestions_by_supplier(rows)
        suppliers = Supplier.objects.in_bulk(groups)
        for supplier_id, lines in sorted(groups.items()):
            supplier = suppliers[supplier_id]
            drafted = day + timedelta(days=supplier.lead_time_days)
            po = purchase_order_create(
                supplier_id=supplier_id,
                warehouse_id=self.ids["warehouse"],
                reference=next_draft_reference(supplier_id, day),
                lines=lines,
                expected_date=drafted,
                notes="Drafted from the replenishment report (simulation).",
            )
            given = self.calendar.next_shipping_day(drafted)  # the supplier delivers on a day we receive
            if given != drafted:
                purchase_order_set_expected_date(
                    purchase_order_id=po.pk, expected_date=given, reason="The supplier's date."
                )
            purchase_order_mark_ordered(purchase_order_id=po.pk)
            habit = self.supplier_habit[supplier_id]
            self._plan_delivery(
                po.pk, habit, given, delivery_draw(habit=habit, rng=self.world.rng_supply, params=self.params)
            )
            self.counters.purchase_orders += 1

    def _plan_delivery(
        self, po_id: int, habit: str, given: date, d: Delivery, *, earliest_announce: date | None = None
    ) -> None:
        arrives = self.calendar.next_shipping_day(given + timedelta(days=d.late_days))
        announce_on = None
        if d.announce_days_ahead is not None and arrives > given:
            ahead = given - timedelta(days=d.announce_days_ahead)
            announce_on = max(ahead, earliest_announce or self.params.start)
        self.deliveries[po_id] = PlannedDelivery(po_id, habit, given, arrives, announce_on, d.fill)

    def _announce(self, day: date) -> None:
        from inventory.services import PurchaseOrderError
        from inventory.services.supplier_answers import purchase_order_supplier_propose

        for planned in sorted(self.deliveries.values(), key=lambda p: p.purchase_order_id):
            if planned.announce_on is None or planned.announce_on > day or planned.arrives <= day:
                continue
            planned.announce_on = None  # once
            try:
                purchase_order_supplier_propose(
                    purchase_order_id=planned.purchase_order_id,
                    expected_date=planned.arrives,
                    reason="Our own supplier is late.",
                    submission_key=self._key("propose"),
                    is_receiving_day=self.calendar.is_shipping_day,
                )
            except PurchaseOrderError as exc:
                self.progress(f"{day}: supplier's new date refused: {exc}")
                continue
            self.counters.slips_announced += 1

    def _receive(self, day: date) -> None:
        from inventory.models import PurchaseOrderLine
        from inventory.services import purchase_order_cancel, purchase_order_receive

        for po_id in sorted(p for p, planned in self.deliveries.items() if planned.arrives == day):
            planned = self.deliveries.pop(po_id)
            lines = PurchaseOrderLine.objects.filter(purchase_order_id=po_id).order_by("pk")
            quantities = {line.pk: int(line.quantity_outstanding * planned.fill) for line in lines}
            quantities = {pk: q for pk, q in quantities.items() if q > 0}
            status = "ordered"
            if quantities:
                status = purchase_order_receive(purchase_order_id=po_id, quantities=quantities).status
                self.counters.deliveries += 1
            if status != "received":  # short: the rest will never come, so staff close the order
                purchase_order_cancel(purchase_order_id=po_id)

    # --- customers and shipping -----------------------------------------------------------------------

    def _order(self, basket: list[tuple[int, int]]) -> None:
        from orders.services import CheckoutError, order_place

        self.counters.orders_placed += 1
        n = self.counters.orders_placed
        try:
            order_place(
                items=[(self.ids["variants"][i], qty) for i, qty in basket],
                email=f"customer{n}@example.com",
                address=ADDRESS,
                shipping_method="standard",
                ship_policy="split",
                payment_method="test_card",
                card_number=CARD,
                accept_backorder_terms=True,
                idempotency_key=self._key("order"),
            )
        except CheckoutError:  # a backorder limit reached: the customer goes elsewhere
            self.counters.orders_placed -= 1
            self.counters.orders_refused += 1

    def _ship(self) -> None:
        from orders.models import OrderLine
        from orders.services import OrderActionError, order_ship

        ready = (
            OrderLine.objects.filter(quantity_allocated__gt=0)
            .order_by("order_id")
            .values_list("order_id", flat=True)
            .distinct()
        )
        for order_id in list(ready):
            try:
                order_ship(order_id=order_id)
            except OrderActionError:
                continue
            self.counters.shipments += 1
