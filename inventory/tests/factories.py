"""factory_boy factories for inventory."""

import factory

from inventory.models import (
    BackorderPolicy,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
    Warehouse,
)
from shop.tests.factories import VariantFactory


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    name = factory.Sequence(lambda n: f"Warehouse {n}")
    code = factory.Sequence(lambda n: f"WH{n}")


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"Supplier {n}")
    contact_email = factory.Sequence(lambda n: f"supplier{n}@example.com")


class BackorderPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackorderPolicy

    variant = factory.SubFactory(VariantFactory)
    mode = "allow"


class PurchaseOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrder

    supplier = factory.SubFactory(SupplierFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    reference = factory.Sequence(lambda n: f"PO-{n:05d}")
    status = PurchaseOrderStatus.ORDERED


class PurchaseOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrderLine

    purchase_order = factory.SubFactory(PurchaseOrderFactory)
    variant = factory.SubFactory(VariantFactory)
    quantity_ordered = 10
