"""Who may open which page and do which action: a table of exact answers, one test per cell.

Rows are the customer pages that show an order and the admin's pages and actions; columns are the
kinds of visitor. A cell is the status code, or `L` (a redirect to the customer login) or `A` (a
redirect to the admin login). For rows that change something, `acts` names the columns where the
change must happen; in every other column the test checks that nothing changed.

The staff columns are the groups of inventory/migrations/0005_staff_roles.py ("Warehouse",
"Customer service", "Catalog"); "staff" is a staff user in no group. Each cell runs in its own
transaction (Django's TestCase), so an action that succeeds in one cell is not seen by the next.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.test import TestCase
from django.urls import reverse

from config.tests.authz import build_world
from inventory.models import AllocationRequest, PurchaseOrder, StockMovement
from notifications.models import Notification, NotificationKind
from orders.models import CustomerQuestion, DelayNotice, Order, Shipment
from shop.models import Category
from shop.tests.helpers import keyed

# Column key -> the world's user (None: not logged in).
COLUMNS = {
    "anon": None,
    "other": "bob",  # another customer
    "owner": "alice",  # the order's customer
    "staff": "staff",  # staff status, no permission
    "wh": "Warehouse",
    "cs": "Customer service",
    "cat": "Catalog",
    "super": "admin",
}
LOGIN, ADMIN_LOGIN = "L", "A"
User = get_user_model()
LISTED: set[str] = set()  # models whose admin list page has a row


@dataclass(frozen=True)
class Row:
    name: str
    url: Callable
    expect: str  # one answer per column, in COLUMNS order
    method: str = "GET"
    data: Callable | None = None
    effect: Callable | None = None  # reads what the action changes
    acts: str = ""  # columns where the effect must change
    secret: Callable | None = None  # text that only the owner's pages may show

    def answers(self) -> dict[str, str]:
        cells = self.expect.split()
        assert len(cells) == len(COLUMNS), self.name
        return dict(zip(COLUMNS, cells, strict=True))


def order_url(w, name="orders:detail"):
    return reverse(name, args=[w.order.number])


def waiting_cancelled(w):
    return w.waiting_line.quantity_cancelled


def questions_asked(w):
    return CustomerQuestion.objects.filter(order=w.order).count()


def question_answered(w):
    return CustomerQuestion.objects.get(pk=w.question.pk).answered_at is not None


def admin_action(name):
    return lambda w: keyed({"action": name, ACTION_CHECKBOX_NAME: [w.order.pk], "post": "yes"})


def changelist(label):
    LISTED.add(label)
    app, model = label.split(".")
    return lambda w: reverse(f"admin:{app}_{model}_changelist")


def document_url(w, name="invoices:document_pdf", token=""):
    url = reverse(name, args=[w.document.pk])
    return f"{url}?token={w.tokens[token]}" if token else url


CUSTOMER_ROWS = [
    # name, url, anon other owner staff wh cs cat super
    # An order's invoices and credit notes: exactly who may open the order page (invoices.views).
    Row("document PDF without token", document_url, "404 404 200 404 404 404 404 404"),
    Row(
        "document PDF with its order's token",
        lambda w: document_url(w, token="order"),
        "200 200 200 200 200 200 200 200",
    ),
    Row(
        "document PDF with another order's token",
        lambda w: document_url(w, token="other_order"),
        "404 404 200 404 404 404 404 404",
    ),
    Row(
        "document page without token",
        lambda w: document_url(w, "invoices:document"),
        "404 404 200 404 404 404 404 404",
    ),
    Row(
        "document page with its order's token",
        lambda w: document_url(w, "invoices:document", token="order"),
        "200 200 200 200 200 200 200 200",
    ),
    Row("order page without token", order_url, "404 404 200 404 404 404 404 404"),
    Row(
        "order page with its token",
        lambda w: f"{order_url(w)}?token={w.tokens['order']}",
        "200 200 200 200 200 200 200 200",
    ),
    Row(
        "order page with another order's token",
        lambda w: f"{order_url(w)}?token={w.tokens['other_order']}",
        "404 404 200 404 404 404 404 404",
    ),
    Row(
        "order page with a tampered token",
        lambda w: f"{order_url(w)}?token={w.tokens['order'][:-2]}xx",
        "404 404 200 404 404 404 404 404",
    ),
    Row(
        "cancel waiting units without token",
        lambda w: order_url(w, "orders:cancel"),
        "404 404 302 404 404 404 404 404",
        method="POST",
        data=lambda w: {f"line_{w.waiting_line.pk}": "1"},
        effect=waiting_cancelled,
        acts="owner",
    ),
    Row(
        "cancel waiting units with its token",
        lambda w: order_url(w, "orders:cancel"),
        "302 302 302 302 302 302 302 302",
        method="POST",
        data=lambda w: {f"line_{w.waiting_line.pk}": "1", "token": w.tokens["order"]},
        effect=waiting_cancelled,
        acts="anon other owner staff wh cs cat super",
    ),
    Row(
        "cancel waiting units with another order's token",
        lambda w: order_url(w, "orders:cancel"),
        "404 404 302 404 404 404 404 404",
        method="POST",
        data=lambda w: {f"line_{w.waiting_line.pk}": "1", "token": w.tokens["other_order"]},
        effect=waiting_cancelled,
        acts="owner",
    ),
    # "Ask about this order": whoever may see the order (its owner, its signed link); 404 for others.
    Row(
        "ask about the order without token",
        lambda w: order_url(w, "orders:question"),
        "404 404 302 404 404 404 404 404",
        method="POST",
        data=lambda w: {"subject": "when_ship", "message": "Any news?"},
        effect=questions_asked,
        acts="owner",
    ),
    Row(
        "ask about the order with its token",
        lambda w: order_url(w, "orders:question"),
        "302 302 302 302 302 302 302 302",
        method="POST",
        data=lambda w: {"subject": "when_ship", "message": "Any news?", "token": w.tokens["order"]},
        effect=questions_asked,
        acts="anon other owner staff wh cs cat super",
    ),
    Row(
        "ask about the order with another order's token",
        lambda w: order_url(w, "orders:question"),
        "404 404 302 404 404 404 404 404",
        method="POST",
        data=lambda w: {"subject": "when_ship", "message": "Any news?", "token": w.tokens["other_order"]},
        effect=questions_asked,
        acts="owner",
    ),
    Row(
        "order history",
        lambda w: reverse("orders:history"),
        "L 200 200 200 200 200 200 200",
        secret=lambda w: w.order.number,
    ),
    Row(
        "delay email: keep waiting page",
        lambda w: reverse("orders:delay_keep", args=[w.tokens["delay_keep"]]),
        "200 200 200 200 200 200 200 200",
    ),
    Row(
        "delay email: keep waiting",
        lambda w: reverse("orders:delay_keep", args=[w.tokens["delay_keep"]]),
        "200 200 200 200 200 200 200 200",
        method="POST",
        effect=lambda w: DelayNotice.objects.get(pk=w.notice.pk).choice,
        acts="anon other owner staff wh cs cat super",
    ),
    Row(
        "delay email: keep waiting with the cancel link's token",
        lambda w: reverse("orders:delay_keep", args=[w.tokens["delay_cancel"]]),
        "400 400 400 400 400 400 400 400",
        method="POST",
        effect=lambda w: DelayNotice.objects.get(pk=w.notice.pk).choice,
    ),
    Row(
        "delay email: cancel page",
        lambda w: reverse("orders:delay_cancel", args=[w.tokens["delay_cancel"]]),
        "200 200 200 200 200 200 200 200",
    ),
    Row(
        "delay email: cancel with a tampered token",
        lambda w: reverse("orders:delay_cancel", args=[w.tokens["delay_cancel"][:-2] + "xx"]),
        "400 400 400 400 400 400 400 400",
        method="POST",
        effect=waiting_cancelled,
    ),
    Row(
        "feedback page",
        lambda w: reverse("orders:feedback", args=[w.tokens["feedback"]]),
        "200 200 200 200 200 200 200 200",
    ),
    Row("email preferences", lambda w: reverse("orders:email_preferences"), "L 200 200 200 200 200 200 200"),
    Row("account page", lambda w: reverse("account"), "L 200 200 200 200 200 200 200"),
    # The account's own pages (accounts.views_addresses, accounts.views_data): each shows the visitor's
    # own data only (another's address is a 404: accounts/tests/test_addresses.py).
    Row("saved addresses", lambda w: reverse("accounts:addresses"), "L 200 200 200 200 200 200 200"),
    Row(
        "download my data",
        lambda w: reverse("accounts:export"),
        "L 200 200 200 200 200 200 200",
        secret=lambda w: w.order.number,  # alice's order is in her file, nobody else's
    ),
    Row("delete account page", lambda w: reverse("accounts:delete"), "L 200 200 200 200 200 200 200"),
]

ADMIN_ROWS = [
    # name, url, anon other owner staff wh cs cat super
    Row("admin index", lambda w: reverse("admin:index"), "A A A 200 200 200 200 200"),
    # Orders: looked at by warehouse and customer service; only customer service cancels waiting units.
    Row("order list", changelist("orders.order"), "A A A 403 200 200 403 200"),
    Row(
        "order page",
        lambda w: reverse("admin:orders_order_change", args=[w.order.pk]),
        "A A A 403 200 200 403 200",
    ),
    Row(
        "order action: ship allocated items",
        changelist("orders.order"),
        "A A A 403 302 302 403 302",
        method="POST",
        data=admin_action("ship_action"),
        effect=lambda w: Shipment.objects.filter(order=w.order).count(),
        acts="wh cs super",
    ),
    Row(
        "order action: cancel backordered quantities (confirmed)",
        changelist("orders.order"),
        "A A A 403 302 302 403 302",
        method="POST",
        data=admin_action("cancel_backordered_action"),
        effect=waiting_cancelled,
        acts="cs super",
    ),
    Row(
        "order action: cancel backordered quantities (confirmation page)",
        changelist("orders.order"),
        "A A A 403 302 200 403 200",
        method="POST",
        data=lambda w: keyed({"action": "cancel_backordered_action", ACTION_CHECKBOX_NAME: [w.order.pk]}),
        effect=waiting_cancelled,
    ),
    Row(
        "order action: mark as priority",
        changelist("orders.order"),
        "A A A 403 302 302 403 302",
        method="POST",
        data=admin_action("mark_priority_action"),
        effect=lambda w: Order.objects.get(pk=w.order.pk).is_priority,
        acts="cs super",
    ),
    # Customers' questions: customer service reads and answers them.
    Row("customer question list", changelist("orders.customerquestion"), "A A A 403 403 200 403 200"),
    Row(
        "customer question page",
        lambda w: reverse("admin:orders_customerquestion_change", args=[w.question.pk]),
        "A A A 403 403 200 403 200",
    ),
    Row(
        "answer a customer question",
        lambda w: reverse("admin:orders_customerquestion_change", args=[w.question.pk]),
        "A A A 403 403 302 403 302",
        method="POST",
        data=lambda w: keyed({"answer": "It ships on Monday."}),
        effect=question_answered,
        acts="cs super",
    ),
    # Stock: warehouse changes it; customer service reads it.
    Row("stock list", changelist("inventory.stockitem"), "A A A 403 200 200 403 200"),
    Row("stock ledger", changelist("inventory.stockmovement"), "A A A 403 200 403 403 200"),
    Row(
        "adjust stock page",
        lambda w: reverse("admin:inventory_stockitem_adjust_item", args=[w.in_stock.stock_items.get().pk]),
        "A A A 403 200 403 403 200",
    ),
    Row(
        "adjust stock",
        lambda w: reverse("admin:inventory_stockitem_adjust_item", args=[w.in_stock.stock_items.get().pk]),
        "A A A 403 302 403 403 302",
        method="POST",
        data=lambda w: keyed({"quantity_change": "3", "reason": "adjusted", "note": "matrix"}),
        effect=lambda w: StockMovement.objects.count(),
        acts="wh super",
    ),
    Row(
        "record a stock count",
        lambda w: reverse("admin:inventory_stockitem_count_item", args=[w.in_stock.stock_items.get().pk]),
        "A A A 403 302 403 403 302",
        method="POST",
        data=lambda w: keyed({"counted": "7", "note": "matrix"}),
        effect=lambda w: StockMovement.objects.count(),
        acts="wh super",
    ),
    Row(
        "backorder queues", lambda w: reverse("admin:inventory_stockitem_queue"), "A A A 403 200 200 403 200"
    ),
    Row(
        "backorder queue of a variant",
        lambda w: reverse("admin:inventory_stockitem_queue_variant", args=[w.backorderable.pk]),
        "A A A 403 200 200 403 200",
    ),
    Row(
        "backorder queue: mark priority",
        lambda w: reverse("admin:inventory_stockitem_queue_priority", args=[w.backorderable.pk]),
        "A A A 403 403 302 403 302",
        method="POST",
        data=lambda w: {"priority": "mark", "order": [w.order.pk]},
        effect=lambda w: Order.objects.get(pk=w.order.pk).is_priority,
        acts="cs super",
    ),
    Row(
        "backorder queue: run allocation now",
        lambda w: reverse("admin:inventory_stockitem_queue_allocate", args=[w.backorderable.pk]),
        "A A A 403 302 403 403 302",
        method="POST",
        effect=lambda w: AllocationRequest.objects.filter(variant=w.backorderable).exists(),
        acts="wh super",
    ),
    # Purchase orders: warehouse receives and changes them; customer service reads them.
    Row("purchase order list", changelist("inventory.purchaseorder"), "A A A 403 200 200 403 200"),
    Row(
        "receive purchase order page",
        lambda w: reverse("admin:inventory_purchaseorder_receive", args=[w.ordered_po.pk]),
        "A A A 403 200 403 403 200",
    ),
    Row(
        "receive purchase order",
        lambda w: reverse("admin:inventory_purchaseorder_receive", args=[w.ordered_po.pk]),
        "A A A 403 302 403 403 302",
        method="POST",
        data=lambda w: keyed({"_receive_all": "1"}),
        effect=lambda w: StockMovement.objects.count(),
        acts="wh super",
    ),
    Row(
        "mark purchase order as ordered",
        lambda w: reverse("admin:inventory_purchaseorder_mark_ordered", args=[w.draft_po.pk]),
        "A A A 403 302 403 403 302",
        method="POST",
        effect=lambda w: PurchaseOrder.objects.get(pk=w.draft_po.pk).status,
        acts="wh super",
    ),
    Row(
        "cancel purchase order",
        lambda w: reverse("admin:inventory_purchaseorder_cancel", args=[w.ordered_po.pk]),
        "A A A 403 302 403 403 302",
        method="POST",
        effect=lambda w: PurchaseOrder.objects.get(pk=w.ordered_po.pk).status,
        acts="wh super",
    ),
    # Notifications: customer service.
    Row("outbox", changelist("notifications.notification"), "A A A 403 403 200 403 200"),
    Row(
        "outbox action: retry failed",
        changelist("notifications.notification"),
        "A A A 403 403 302 403 302",
        method="POST",
        data=lambda w: {"action": "retry_failed", ACTION_CHECKBOX_NAME: [w.notification.pk]},
        effect=lambda w: Notification.objects.get(pk=w.notification.pk).status,
        acts="cs super",
    ),
    Row(
        "email previews",
        lambda w: reverse("admin:notifications_notification_preview_index"),
        "A A A 403 403 200 403 200",
    ),
    Row(
        "email preview",
        lambda w: reverse(
            "admin:notifications_notification_preview", args=[NotificationKind.LOW_STOCK_ALERT]
        ),
        "A A A 403 403 200 403 200",
    ),
    Row(
        "email preview HTML",
        lambda w: reverse(
            "admin:notifications_notification_preview_html", args=[NotificationKind.LOW_STOCK_ALERT]
        ),
        "A A A 403 403 200 403 200",
    ),
    # The staff console.
    Row("backorder dashboard", lambda w: reverse("staff_dashboard"), "A A A 403 200 200 403 200"),
    Row("replenishment report", lambda w: reverse("staff_replenishment"), "A A A 403 200 200 403 200"),
    Row(
        "replenishment: draft purchase orders",
        lambda w: reverse("staff_replenishment"),
        "A A A 403 302 403 403 302",
        method="POST",
        data=lambda w: {"variant": [w.backorderable.pk], "warehouse": w.warehouse.pk},
    ),
    Row("stock count import", lambda w: reverse("staff_stock_count_import"), "A A A 403 200 403 403 200"),
    # Catalog.
    Row("variant list", changelist("shop.variant"), "A A A 403 200 200 200 200"),
    Row(
        "add a category",
        lambda w: reverse("admin:shop_category_add"),
        "A A A 403 403 403 302 302",
        method="POST",
        data=lambda w: {"name": "Stoves", "slug": "stoves", "position": "0", "is_active": "on"},
        effect=lambda w: Category.objects.count(),
        acts="cat super",
    ),
    Row(
        "catalog import upload",
        lambda w: reverse("admin:shop_catalogimport_add"),
        "A A A 403 403 403 200 200",
    ),
    Row(
        "catalog import from the variant list",
        lambda w: reverse("admin:shop_variant_import"),
        "A A A 403 403 403 200 200",
    ),
    # Integrations (docs/api.md): API keys and webhook endpoints open the shop to other systems, so no
    # role has them; a superuser (or a user given these permissions one by one) manages them.
    Row("API key list", changelist("api.apikey"), "A A A 403 403 403 403 200"),
    Row("add an API key", lambda w: reverse("admin:api_apikey_add"), "A A A 403 403 403 403 200"),
    Row("kept API answers", changelist("api.idempotentrequest"), "A A A 403 403 403 403 200"),
    Row("webhook endpoints", changelist("webhooks.webhookendpoint"), "A A A 403 403 403 403 200"),
    Row("webhook events", changelist("webhooks.webhookevent"), "A A A 403 403 403 403 200"),
    Row("webhook deliveries", changelist("webhooks.webhookdelivery"), "A A A 403 403 403 403 200"),
    # Users and roles: superusers only.
    Row("user list", changelist("accounts.user"), "A A A 403 403 403 403 200"),
    Row(
        "add a user",
        lambda w: reverse("admin:accounts_user_add"),
        "A A A 403 403 403 403 302",
        method="POST",
        data=lambda w: {
            "email": "mallory@example.com",
            "password1": "Un-guessable-42!",
            "password2": "Un-guessable-42!",
            "usable_password": "true",
        },
        effect=lambda w: User.objects.count(),
        acts="super",
    ),
]

# The list page of every other model in the admin: who may look (view or change permission).
OTHER_LISTS = {
    # label: staff wh cs cat super
    "auth.group": "403 403 403 403 200",
    "inventory.warehouse": "403 200 403 403 200",
    "inventory.backorderpolicy": "403 200 200 200 200",
    "inventory.supplier": "403 200 403 403 200",
    "inventory.shopclosure": "403 200 403 403 200",  # days nothing ships: the warehouse manages them
    "shop.category": "403 403 200 200 200",
    "shop.product": "403 200 200 200 200",
    "shop.catalogimport": "403 403 403 200 200",  # the Catalog role imports products and variants
    "shop.workerheartbeat": "403 403 403 403 200",
    "orders.payment": "403 403 200 403 200",
    "orders.shipment": "403 200 200 403 200",
    "orders.orderevent": "403 403 200 403 200",
    "orders.cart": "403 403 200 403 200",
    "orders.linedelay": "403 403 200 403 200",
    "orders.orderfeedback": "403 403 200 403 200",
    "orders.stripeevent": "403 403 403 403 200",
    # Card charges (failed payments, "send the payment link again"): customer service and superusers.
    "orders.cardcharge": "403 403 200 403 200",  # Stripe's webhook events: superusers (disputes show on orders)
    "notifications.backinstocksubscription": "403 403 200 403 200",
    "notifications.restockwave": "403 403 200 403 200",
    "notifications.lowstockstate": "403 403 200 403 200",
    "notifications.emailpreference": "403 403 200 403 200",
    # VAT rates (docs/tax.md): a wrong rate is wrong money on every order, so superusers only.
    "tax.taxrate": "403 403 403 403 200",
    # Invoices and credit notes: customer service reads them (invoices/migrations/0003).
    "invoices.document": "403 403 200 403 200",
}
ADMIN_ROWS += [Row(f"{label} list", changelist(label), f"A A A {row}") for label, row in OTHER_LISTS.items()]
ADMIN_ROWS += [
    Row(
        "document PDF (admin)",
        lambda w: reverse("admin:invoices_document_pdf", args=[w.document.pk]),
        "A A A 403 403 200 403 200",
    ),
    Row(
        "document page (admin)",
        lambda w: reverse("admin:invoices_document_page", args=[w.document.pk]),
        "A A A 403 403 200 403 200",
    ),
]
ROWS = CUSTOMER_ROWS + ADMIN_ROWS


class AuthorizationMatrix(TestCase):
    """One generated test per cell: test_<row>__<column>."""

    @classmethod
    def setUpTestData(cls):
        cls.world = build_world()

    def check_cell(self, row: Row, column: str) -> None:
        w = self.world
        user = COLUMNS[column]
        if user is not None:
            self.client.force_login(w.users[user])
        url = row.url(w)
        before = row.effect(w) if row.effect else None

        if row.method == "POST":
            response = self.client.post(url, row.data(w) if row.data else {})
        else:
            response = self.client.get(url)

        expected = row.answers()[column]
        where = f"{row.name} as {column}: {row.method} {url}"
        if expected in (LOGIN, ADMIN_LOGIN):
            login = reverse("login") if expected == LOGIN else reverse("admin:login")
            self.assertEqual(response.status_code, 302, where)
            self.assertTrue(response["Location"].startswith(f"{login}?next="), (where, response["Location"]))
        else:
            self.assertEqual(response.status_code, int(expected), where)
            if response.status_code == 302:  # a success's redirect, never a login page
                self.assertNotIn("login", response["Location"], where)
        if row.effect:
            changed = row.effect(w) != before
            self.assertEqual(changed, column in row.acts.split(), f"{where}: changed={changed}")
        if row.secret and column != "owner" and response.status_code == 200:
            self.assertNotIn(row.secret(w), response.content.decode(), where)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


for _row in ROWS:
    for _column in COLUMNS:
        setattr(
            AuthorizationMatrix,
            f"test_{_slug(_row.name)}__{_column}",
            lambda self, row=_row, column=_column: self.check_cell(row, column),
        )


def test_every_admin_model_list_is_in_the_matrix():
    """A model newly registered in the admin needs its row here."""
    registered = {model._meta.label_lower for model in admin.site._registry}

    assert registered - LISTED == set()
