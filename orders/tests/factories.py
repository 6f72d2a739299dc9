"""factory_boy factories for orders."""

from decimal import Decimal

import factory
from django.utils import timezone

from orders.models import Order, OrderLine
from shop.tests.factories import VariantFactory


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"BO-{n:06d}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    placed_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    """A line; by default every unit waits on backorder."""

    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    sku = factory.LazyAttribute(lambda o: o.variant.sku)
    product_name = factory.LazyAttribute(lambda o: o.variant.product.name)
    unit_price = Decimal("19.90")
    quantity = 1
    quantity_allocated = 0
    quantity_backordered = factory.LazyAttribute(lambda o: o.quantity - o.quantity_allocated)
