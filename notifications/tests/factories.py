import factory
from django.utils import timezone

from notifications.models import BackInStockSubscription, Notification, NotificationKind, SubscriptionStatus
from shop.tests.factories import VariantFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    kind = NotificationKind.LOW_STOCK_ALERT
    recipient = factory.Sequence(lambda n: f"staff{n}@example.com")
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    context = factory.LazyFunction(dict)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """An active (confirmed) back-in-stock subscription; pass status="unconfirmed" for a guest's."""

    class Meta:
        model = BackInStockSubscription

    variant = factory.SubFactory(VariantFactory)
    email = factory.Sequence(lambda n: f"fan{n}@example.com")
    status = SubscriptionStatus.ACTIVE
    confirmed_at = factory.Maybe(
        factory.LazyAttribute(lambda o: o.status == SubscriptionStatus.UNCONFIRMED),
        yes_declaration=None,
        no_declaration=factory.LazyFunction(timezone.now),
    )
