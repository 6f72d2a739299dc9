import factory

from notifications.models import Notification, NotificationKind


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    kind = NotificationKind.LOW_STOCK_ALERT
    recipient = factory.Sequence(lambda n: f"staff{n}@example.com")
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    context = factory.LazyFunction(dict)
