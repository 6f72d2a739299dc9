"""End to end: staff move a purchase order's date in the admin; a real Celery worker on Redis finds the slip
and each waiting customer gets exactly one delay email at a real SMTP server, whose "Keep waiting" link works."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.tests.promises import from_purchase_order
from orders.models import DelayChoice, DelayNotice, LineDelay
from orders.tests.delays_helpers import (
    DELAY_SUBJECT,
    backorderable,
    link_in,
    purchase_order,
    text_of,
    waiting_order,
)
from shop.formatting import date_in_words, date_range_in_words

# exclusive: "nothing more arrives" is a wait of two seconds, not stretched by other tests' load.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.exclusive,
]


def change_form_data(response) -> dict:
    """The POST data the admin change page would send back unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        forms += inline.formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value not in (None, False):
                data[form.add_prefix(name)] = value
    return data


def test_a_date_moved_in_the_admin_emails_each_waiting_customer_once_through_the_worker(
    admin_client, client, celery_via_broker, smtp_server
):
    # Given Ada and Bob waiting for tents due in 5 days, and Cy for a stove nobody touches
    today = timezone.localdate()
    tent, stove = backorderable(), backorderable(name="Camp Stove")
    po = purchase_order(tent, 5, today + timedelta(days=5))
    purchase_order(stove, 5, today + timedelta(days=5))
    ada = waiting_order(tent, 2, email="ada@example.com")
    waiting_order(tent, 1, email="bob@example.com")
    waiting_order(stove, 1, email="cy@example.com")
    celery_via_broker(extra_env={"EMAIL_URL": smtp_server.url, "DELAY_NOTIFY_QUIET_MINUTES": "0"})

    # When staff move the tents' purchase order 15 days later on its admin page
    url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    data = change_form_data(admin_client.get(url))
    data.update(
        {"expected_date": (today + timedelta(days=20)).isoformat(), "date_change_reason": "Supplier delay"}
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302

    # Then the worker finds the slip and each tent customer gets one delay email, with both dates
    messages = smtp_server.wait_for(2, timeout=60)
    assert sorted(m["To"] for m in messages) == ["ada@example.com", "bob@example.com"]
    assert all(DELAY_SUBJECT in m["Subject"] for m in messages)
    ada_text = text_of(next(m for m in messages if m["To"] == "ada@example.com"))
    # We said the confident end of the old range; the new one is a range (docs/dates.md)
    old = from_purchase_order(today + timedelta(days=5)).confident
    new = from_purchase_order(today + timedelta(days=20))
    assert (
        f"  We said: {date_in_words(old, weekday=True)}\n"
        f"  New date: {date_range_in_words(new.earliest, new.confident)}\n" in ada_text
    )
    time.sleep(2)  # nothing more arrives: exactly one email per affected order, none for Cy
    assert len(smtp_server.messages) == 2
    assert LineDelay.objects.count() == 2

    # And Ada's "Keep waiting" link works: the page asks, the button records her choice
    keep = link_in(ada_text, "keep-waiting")
    page = client.get(keep)
    assert page.status_code == 200
    assert DelayNotice.objects.get(order=ada).choice == DelayChoice.NONE
    assert client.post(keep).status_code == 200
    assert DelayNotice.objects.get(order=ada).choice == DelayChoice.KEEP_WAITING
    assert client.post(keep).status_code == 410
