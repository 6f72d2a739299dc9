"""factory_boy factories for accounts: `UserFactory(email=..., password=...)`, or `user_create(...)`."""

import factory
from django.contrib.auth import get_user_model

PASSWORD = "Correct-horse-battery-42"


class UserFactory(factory.django.DjangoModelFactory):
    """A customer with the password PASSWORD (or `password=`); `email_verified_at=` to confirm it."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.com")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):  # noqa: N805 (factory_boy passes the object)
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


def user_create(*, email: str, password: str | None = PASSWORD, **extra):
    """A user through the manager, as the shop makes them (the email normalised)."""
    return get_user_model().objects.create_user(email=email, password=password, **extra)
