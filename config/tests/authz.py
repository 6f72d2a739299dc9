"""The shop the security tests act on: a catalog with stock, an order with units waiting, the links
its emails carry, purchase orders, an outbox row, a customer's question, and one user per role.

Everything is made through the factories and the real services (`orders.tests.helpers.place`), so
the numbers are the ones a real checkout leaves. Staff roles are the groups of the data migration
`inventory/migrations/0005_staff_roles.py`; a test database flushed by an earlier transactional test
has lost them, so they are made again from the same migration's list.
"""

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from inventory.models import PurchaseOrderStatus, StockItem, StockMovement
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory, WarehouseFactory
from invoices.models import DocumentKind
from invoices.tests.sample_documents import issued_document
from notifications.models import NotificationKind, NotificationStatus, SubscriptionStatus
from notifications.tests.factories import NotificationFactory, SubscriptionFactory
from notifications.tokens import make_confirm_token, make_unsubscribe_token
from orders.models import (
    CustomerQuestion,
    DelayCause,
    DelayNotice,
    DelayNoticeStatus,
    LineDelay,
    Order,
    OrderFeedback,
)
from orders.tests.helpers import allow_backorders, give_stock, place
from orders.tokens import (
    DELAY_CANCEL_SALT,
    DELAY_KEEP_SALT,
    EMAIL_PREFERENCES_SALT,
    FEEDBACK_SALT,
    make_link_token,
    make_order_token,
)
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory

User = get_user_model()

PASSWORD = "correct-horse-battery-staple"
ROLE_NAMES = ("Warehouse", "Customer service", "Catalog")


def staff_role(name: str) -> Group:
    """The staff group `name` as the data migration defines it (made again if a flush removed it)."""
    group = Group.objects.filter(name=name).first()
    if group is not None and group.permissions.exists():
        return group
    roles = importlib.import_module("inventory.migrations.0005_staff_roles").ROLES
    group = group or Group.objects.create(name=name)
    for app_label, codenames in roles[name].items():
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
    if (
        name == "Customer service"
    ):  # inventory/migrations/0006: delays and feedback; 0009: questions; 0012: card payments
        later = [
            *importlib.import_module("inventory.migrations.0006_customer_service_sees_delays").CODENAMES,
            *importlib.import_module(
                "inventory.migrations.0009_customer_service_answers_questions"
            ).CODENAMES,
            *importlib.import_module(
                "inventory.migrations.0012_customer_service_follows_card_payments"
            ).CODENAMES,
        ]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="orders", codename__in=later)
        )
    return group


def make_user(name: str, *, staff: bool = False, superuser: bool = False, group: str | None = None):
    """A user "alice@example.com" for the name "alice" ("Customer service" → customer-service@...)."""
    user = User.objects.create_user(
        email=f"{name.replace(' ', '-')}@example.com",
        password=PASSWORD,
        is_staff=staff or superuser,
        is_superuser=superuser,
    )
    if group:
        user.groups.add(staff_role(group))
    return user


@dataclass
class World:
    """Ids and signed tokens of the records the pages show; see `build_world`."""

    category: object
    product: object
    in_stock: object  # 10 on hand, sold now
    backorderable: object  # none on hand, backorders allowed
    sold_out: object  # none on hand, backorders refused: "Notify me" is offered
    warehouse: object
    order: Order  # alice's: 1 in stock (allocated) + 2 waiting
    other_order: Order  # a guest's order: only its token opens it
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    draft_po: object = None
    ordered_po: object = None
    notification: object = None
    subscription: object = None
    feedback: object = None
    notice: object = None
    question: object = None  # alice's, about `order`, not answered yet
    document: object = None  # a prepayment invoice of `order` (invoices: its page and PDF)

    @property
    def waiting_line(self):
        return self.order.lines.get(variant=self.backorderable)


def build_world() -> World:
    category = CategoryFactory(name="Tents", slug="tents")
    product = ProductFactory(name="Alpine Tent", slug="alpine-tent", category=category)
    in_stock = VariantFactory(product=product, sku="TENT-2P", price=Decimal("120.00"))
    backorderable = VariantFactory(product=product, sku="TENT-3P", price=Decimal("150.00"))
    sold_out = VariantFactory(product=product, sku="TENT-4P", price=Decimal("180.00"))
    allow_backorders(backorderable, lead_time_days=21)
    warehouse = WarehouseFactory(name="Main", code="MAIN")
    give_stock(in_stock, 10, warehouse)

    users = {
        "alice": make_user("alice"),
        "bob": make_user("bob"),
        "staff": make_user("staff", staff=True),
        "admin": make_user("admin", superuser=True),
        **{name: make_user(name, staff=True, group=name) for name in ROLE_NAMES},
    }

    order = place(
        [(in_stock, 1), (backorderable, 2)], email=users["alice"].email, user_id=users["alice"].pk
    ).order
    other_order = place([(in_stock, 1)], email="guest@example.com").order

    draft_po = PurchaseOrderFactory(status=PurchaseOrderStatus.DRAFT, warehouse=warehouse)
    PurchaseOrderLineFactory(purchase_order=draft_po, variant=backorderable, quantity_ordered=5)
    ordered_po = PurchaseOrderFactory(
        status=PurchaseOrderStatus.ORDERED,
        warehouse=warehouse,
        expected_date=timezone.localdate() + timedelta(days=10),
    )
    PurchaseOrderLineFactory(purchase_order=ordered_po, variant=backorderable, quantity_ordered=4)

    notification = NotificationFactory(
        kind=NotificationKind.LOW_STOCK_ALERT, status=NotificationStatus.FAILED, attempts=6, last_error="boom"
    )
    subscription = SubscriptionFactory(
        variant=sold_out, email="fan@example.com", status=SubscriptionStatus.UNCONFIRMED
    )
    feedback = OrderFeedback.objects.create(order=order)
    now = timezone.now()
    notice = DelayNotice.objects.create(order=order, status=DelayNoticeStatus.SENT, due_at=now, sent_at=now)
    line = order.lines.get(variant=backorderable)
    today = timezone.localdate()
    LineDelay.objects.create(
        notice=notice,
        line=line,
        status=DelayNoticeStatus.SENT,
        cause=DelayCause.PO_DATE_CHANGED,
        old_date=today + timedelta(days=5),
        new_date=today + timedelta(days=12),
        units_waiting=line.quantity_backordered,
    )

    question = CustomerQuestion.objects.create(
        order=order, email=order.email, subject="when_ship", message="When will my tent ship?"
    )

    document = issued_document(order=order, kind=DocumentKind.PREPAYMENT)

    tokens = {
        "order": make_order_token(order.number),
        "other_order": make_order_token(other_order.number),
        "delay_keep": make_link_token(DELAY_KEEP_SALT, notice.pk),
        "delay_cancel": make_link_token(DELAY_CANCEL_SALT, notice.pk),
        "feedback": make_link_token(FEEDBACK_SALT, feedback.pk),
        "email_preferences": make_link_token(EMAIL_PREFERENCES_SALT, order.email),
        "confirm": make_confirm_token(subscription.pk),
        "unsubscribe": make_unsubscribe_token(subscription.email),
    }
    return World(
        category=category,
        product=product,
        in_stock=in_stock,
        backorderable=backorderable,
        sold_out=sold_out,
        warehouse=warehouse,
        order=order,
        other_order=other_order,
        users=users,
        tokens=tokens,
        draft_po=draft_po,
        ordered_po=ordered_po,
        notification=notification,
        subscription=subscription,
        feedback=feedback,
        notice=notice,
        question=question,
        document=document,
    )


def stock_snapshot() -> tuple:
    """Every stock level and the size and sums of the ledger: equal snapshots mean no stock moved."""
    levels = tuple(StockItem.objects.order_by("pk").values_list("pk", "on_hand", "allocated"))
    ledger = tuple(StockMovement.objects.order_by("pk").values_list("pk", "on_hand_delta", "allocated_delta"))
    return levels, ledger
