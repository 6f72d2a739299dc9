"""When an off-session card charge fails (orders.services.card_payment, .allocation_release): the
email and its signed link, paying on the page with another card, the reminder, and the units going
to the next customer in line when the grace ends. Against localstripe; exact stock, allocation,
ledger and money numbers."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db.models import Sum
from django.utils import timezone

from config.testing import run_together
from inventory.models import Allocation, MovementReason, StockItem, StockMovement
from inventory.selectors import ledger_discrepancies
from inventory.services import stock_adjust
from notifications.models import Notification, NotificationKind
from orders.models import CardCharge, ChargePurpose, ChargeStatus, OrderLine, PaymentTransaction
from orders.services import card_payment_amounts, stock_arrived_process
from orders.services.allocation_release import card_grace_expire, card_grace_sweep
from orders.tokens import read_card_payment_token
from shop.tests.factories import VariantFactory

from .cards import CARD_DECLINES_LATER, CARD_OK, card_place
from .helpers import allow_backorders, give_stock

pytestmark = pytest.mark.django_db(transaction=True)

PRICE = Decimal("30.00")


@pytest.fixture
def tent(db):
    variant = VariantFactory(price=PRICE, product__name="Alpine Tent")
    allow_backorders(variant)
    return variant


def line_of(order) -> OrderLine:
    return OrderLine.objects.get(order=order)


def unit_arrives(variant, warehouse=None):
    """One unit received; the pass runs on commit (eager tasks) and charges the first in line."""
    return give_stock(variant, 1, warehouse)


def failed_charge(stripe, tent):
    """Ada (a card that saves fine and declines every charge) waits first, Bob (a good card) second;
    one unit arrives: it is set aside for Ada, her off-session charge is declined."""
    ada = card_place(stripe, [(tent, 1)], card=CARD_DECLINES_LATER, email="ada@example.com").order
    bob = card_place(stripe, [(tent, 1)], card=CARD_OK, email="bob@example.com").order
    warehouse = unit_arrives(tent)
    charge = CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION, payment__order=ada)
    assert charge.status == ChargeStatus.FAILED and charge.amount == PRICE
    assert line_of(ada).quantity_allocated == 1 and line_of(bob).quantity_allocated == 0
    return ada, bob, charge, warehouse


def pay_link(kind: str, recipient: str) -> str:
    """The payment page's path from the email of `kind` sent to `recipient` (its text part)."""
    (notification,) = Notification.objects.filter(kind=kind, recipient=recipient)
    assert notification.status == "sent"
    subjects = {
        NotificationKind.CARD_PAYMENT_NEEDED: "could not take payment",
        NotificationKind.CARD_PAYMENT_REMINDER: "is set aside for you until",
    }
    (message,) = [m for m in mail.outbox if m.to == [recipient] and subjects[kind] in m.subject]
    match = re.search(r"https?://[^/\s]+(/orders/pay/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def ledger(variant) -> list[tuple[str, int, int]]:
    return list(
        StockMovement.objects.filter(variant=variant)
        .order_by("pk")
        .values_list("reason", "on_hand_delta", "allocated_delta")
    )


def test_decline_emails_a_link_and_paying_with_another_card_keeps_the_units(stripe_settings, tent, client):
    ada, bob, charge, _ = failed_charge(stripe_settings, tent)
    path = pay_link(NotificationKind.CARD_PAYMENT_NEEDED, "ada@example.com")
    email = next(
        m for m in mail.outbox if m.to == ["ada@example.com"] and "could not take payment" in m.subject
    )
    assert email.subject == f"Order {ada.number}: we could not take payment for 1 × Alpine Tent"
    grace = timezone.localtime(charge.grace_ends_at)
    assert f"set aside for you until {grace:%A} {grace.day} {grace:%B %Y} at {grace:%H:%M}" in email.body

    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 × Alpine Tent" in html and "€30.00" in html and "set aside for you until" in html
    secret = re.search(r'data-setup-secret="([^"]+)"', html).group(1)

    # The customer types another card into the Card Element; Stripe.js confirms the page's SetupIntent.
    setup = stripe_settings.confirm_setup(secret, CARD_OK)
    assert setup["status"] == "succeeded"
    paid = client.post(path, {"step": "new", "setup_intent": setup["id"]})
    assert paid.status_code == 302
    thanks = client.get(path)
    assert thanks.status_code == 200 and "Thank you — paid" in thanks.content.decode()
    assert "It ships soon" in thanks.content.decode()

    charge.refresh_from_db()
    payment = ada.payment
    payment.refresh_from_db()
    assert charge.status == ChargeStatus.AUTHORIZED and charge.grace_ends_at is None
    assert charge.expires_at is not None
    assert payment.amount_authorized == PRICE and payment.stripe_payment_method == setup["payment_method"]
    authorizations = PaymentTransaction.objects.filter(payment=payment, kind="authorize", success=True)
    assert list(authorizations.values_list("amount", "gateway_reference")) == [(PRICE, charge.stripe_id)]
    assert card_payment_amounts(payment)["authorized"] == PRICE

    # Sending the form again records nothing more; the grace sweep, even days later, releases nothing.
    again = client.post(path, {"step": "new", "setup_intent": setup["id"]})
    assert again.status_code == 200 and "Thank you — paid" in again.content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=settings.PAYMENT_GRACE_DAYS, hours=1)):
        assert card_grace_sweep().released == []
    assert authorizations.count() == 1
    assert line_of(ada).quantity_allocated == 1 and line_of(bob).quantity_allocated == 0
    item = StockItem.objects.get(variant=tent)
    assert (item.on_hand, item.allocated) == (1, 1)


def test_paying_with_the_saved_card_that_declines_again_says_so_and_keeps_the_grace(
    stripe_settings, tent, client
):
    ada, _, charge, _ = failed_charge(stripe_settings, tent)
    path = pay_link(NotificationKind.CARD_PAYMENT_NEEDED, "ada@example.com")
    answer = client.post(path, {"step": "saved"})
    assert answer.status_code == 200
    assert "alert-danger" in answer.content.decode()
    grace = charge.grace_ends_at
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.FAILED and charge.grace_ends_at == grace and charge.attempts == 2
    ada.payment.refresh_from_db()
    assert ada.payment.amount_authorized == 0


def test_not_paying_releases_the_units_to_the_next_customer_once(stripe_settings, tent, client):
    ada, bob, charge, _ = failed_charge(stripe_settings, tent)
    path = pay_link(NotificationKind.CARD_PAYMENT_NEEDED, "ada@example.com")
    ends = charge.grace_ends_at
    reminders = Notification.objects.filter(kind=NotificationKind.CARD_PAYMENT_REMINDER)

    # Two days before the end: no reminder yet. Within PAYMENT_REMINDER_HOURS: one, and only one.
    with time_machine.travel(ends - timedelta(days=2)):
        assert card_grace_sweep().reminded == []
    with time_machine.travel(ends - timedelta(hours=settings.PAYMENT_REMINDER_HOURS - 1)):
        assert card_grace_sweep().reminded == [charge.pk]
        assert card_grace_sweep().reminded == []
    assert reminders.count() == 1 and reminders.get().recipient == "ada@example.com"
    reminder_path = pay_link(NotificationKind.CARD_PAYMENT_REMINDER, "ada@example.com")
    assert read_card_payment_token(reminder_path.split("/")[-2]) == charge.pk

    # The grace is over: the page says so before the sweep runs; then the sweep releases the unit.
    with time_machine.travel(ends + timedelta(minutes=1)):
        late = client.get(path)
        assert late.status_code == 410 and "The time to pay has ended" in late.content.decode()
        assert card_grace_sweep().released == [charge.pk]
        assert card_grace_sweep().released == []  # twice: nothing more
        assert card_grace_expire(charge_id=charge.pk) is False

    ada_line, bob_line = line_of(ada), line_of(bob)
    assert (ada_line.quantity_allocated, ada_line.quantity_cancelled, ada_line.status) == (0, 1, "cancelled")
    assert (bob_line.quantity_allocated, bob_line.quantity_backordered) == (1, 0)
    item = StockItem.objects.get(variant=tent)
    assert (item.on_hand, item.allocated) == (1, 1)
    assert dict(Allocation.objects.filter(stock_item=item).values_list("order_line_id", "quantity")) == {
        ada_line.pk: 0,
        bob_line.pk: 1,
    }
    assert ledger(tent) == [
        (MovementReason.ADJUSTED, 1, 0),
        (MovementReason.ALLOCATED, 0, 1),  # Ada's
        (MovementReason.DEALLOCATED, 0, -1),  # given back when her grace ended
        (MovementReason.ALLOCATED, 0, 1),  # Bob's
    ]
    assert ledger_discrepancies() == []
    charge.refresh_from_db()
    assert (charge.status, charge.amount_released) == (ChargeStatus.RELEASED, PRICE)
    bob_charge = CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION, payment__order=bob)
    assert (bob_charge.status, bob_charge.amount) == (ChargeStatus.AUTHORIZED, PRICE)
    ada.payment.refresh_from_db()
    assert (ada.payment.amount_authorized, ada.payment.amount_captured) == (0, 0)

    (released,) = Notification.objects.filter(kind=NotificationKind.CARD_PAYMENT_RELEASED)
    assert released.recipient == "ada@example.com" and released.status == "sent"
    email = next(m for m in mail.outbox if "released" in m.subject)
    assert email.subject == f"Order {ada.number}: we have released 1 × Alpine Tent"
    assert "Nothing was charged for it." in email.body
    assert reminders.count() == 1
    assert ada.events.filter(kind="cancelled", data__card_charge=charge.pk).count() == 1
    gone = client.get(path)
    assert gone.status_code == 410 and "This item was released" in gone.content.decode()


def test_a_link_that_was_tampered_with_changes_nothing(stripe_settings, tent, client):
    _, _, charge, _ = failed_charge(stripe_settings, tent)
    path = pay_link(NotificationKind.CARD_PAYMENT_NEEDED, "ada@example.com")
    calls = PaymentTransaction.objects.count()
    assert client.get(path[:-3] + "xx/").status_code == 400
    assert client.post(path[:-3] + "xx/", {"step": "saved"}).status_code == 400
    assert PaymentTransaction.objects.count() == calls
    charge.refresh_from_db()
    assert (charge.status, charge.attempts) == (ChargeStatus.FAILED, 1)


def test_staff_send_the_payment_link_again_once_per_submission(stripe_settings, tent, admin_client):
    ada, _, charge, _ = failed_charge(stripe_settings, tent)
    listing = admin_client.get("/admin/orders/cardcharge/?status__exact=failed")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert ada.number in html and "30.00 EUR" in html and "1 × Alpine Tent" in html
    key = re.search(r'name="submission_key" value="([0-9a-f]{32})"', html).group(1)
    form = {"action": "resend_payment_link_action", "_selected_action": [charge.pk], "submission_key": key}
    needed = Notification.objects.filter(
        kind=NotificationKind.CARD_PAYMENT_NEEDED, recipient="ada@example.com"
    )
    assert needed.count() == 1
    admin_client.post("/admin/orders/cardcharge/", form)
    assert needed.count() == 2
    admin_client.post("/admin/orders/cardcharge/", form)  # the same page sent twice
    assert needed.count() == 2
    form["submission_key"] = "f" * 32
    admin_client.post("/admin/orders/cardcharge/", form)
    assert needed.count() == 3


@pytest.mark.postgres
def test_the_pass_and_the_grace_release_on_one_variant_at_once(stripe_settings, tent, monkeypatch):
    """Ada's unpaid unit is released while the pass serves a unit that just arrived: Bob and Carol
    each get one unit, whichever commits first; no unit is lost or given twice."""
    ada, bob, charge, warehouse = failed_charge(stripe_settings, tent)
    carol = card_place(stripe_settings, [(tent, 1)], card=CARD_OK, email="carol@example.com").order
    # The passes under test are started by hand: keep the on-commit task from running its own.
    monkeypatch.setattr("inventory.tasks.stock_arrived.delay_on_commit", lambda **kw: None)
    stock_adjust(variant_id=tent.pk, warehouse_id=warehouse.pk, quantity_change=1)  # one more unit, free

    with time_machine.travel(charge.grace_ends_at + timedelta(minutes=1)):
        results = run_together(
            [
                lambda: stock_arrived_process(variant_ids=[tent.pk]),
                lambda: card_grace_expire(charge_id=charge.pk),
            ]
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        assert results[1] is True
        stock_arrived_process(variant_ids=[tent.pk])  # the task the release's commit queued

    lines = {o.email: line_of(o) for o in (ada, bob, carol)}
    assert [(x.quantity_allocated, x.quantity_backordered, x.quantity_cancelled) for x in lines.values()] == [
        (0, 0, 1),
        (1, 0, 0),
        (1, 0, 0),
    ]
    item = StockItem.objects.get(variant=tent)
    assert (item.on_hand, item.allocated) == (2, 2)
    assert Allocation.objects.filter(stock_item=item).aggregate(s=Sum("quantity"))["s"] == 2
    reasons = [reason for reason, _, _ in ledger(tent)]
    assert reasons.count(MovementReason.DEALLOCATED) == 1
    assert StockMovement.objects.filter(variant=tent).aggregate(s=Sum("allocated_delta"))["s"] == 2
    assert ledger_discrepancies() == []
    assert CardCharge.objects.filter(pk=charge.pk, status=ChargeStatus.RELEASED).count() == 1
    assert Notification.objects.filter(kind=NotificationKind.CARD_PAYMENT_RELEASED).count() == 1
