"""End to end: staff receive a purchase order in the admin; a real Celery worker on Redis
allocates the stock to waiting backorders and the customers' emails reach a real SMTP server."""

import time

import pytest
from django.urls import reverse

from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory
from orders.models import OrderLine
from orders.tests.helpers import allow_backorders, place
from shop.tests.factories import VariantFactory
from shop.tests.helpers import keyed

# exclusive: "nothing more arrives" is a wait of a second, not stretched by other tests' load.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.exclusive,
]


def test_receipt_in_admin_allocates_through_the_worker_and_emails_customers(
    admin_client, celery_via_broker, smtp_server
):
    variant = VariantFactory(product__name="Alpine Tent")
    allow_backorders(variant)
    orders = [place([(variant, 2)], email=f"waiting{n}@example.com").order for n in range(3)]
    po = PurchaseOrderFactory()
    PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=5)
    celery_via_broker(extra_env={"EMAIL_URL": smtp_server.url})

    response = admin_client.post(
        reverse("admin:inventory_purchaseorder_receive", args=[po.pk]), keyed({"_receive_all": "1"})
    )

    assert response.status_code == 302
    messages = smtp_server.wait_for(3, timeout=60)
    assert sorted(m["To"] for m in messages) == [f"waiting{n}@example.com" for n in range(3)]
    assert all("in stock" in m["Subject"] for m in messages)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and OrderLine.objects.filter(quantity_allocated=0).exists():
        time.sleep(0.2)
    allocated = [OrderLine.objects.get(order=o).quantity_allocated for o in orders]
    assert allocated == [2, 2, 1]
    time.sleep(1)  # nothing more arrives: one email per order
    assert len(smtp_server.messages) == 3
