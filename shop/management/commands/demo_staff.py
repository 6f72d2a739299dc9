"""`manage.py demo_staff`: a known staff login for exploring the admin of a demo shop."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

EMAIL = "admin@example.com"
DEFAULT_PASSWORD = "admin-demo-2026"


@transaction.atomic(durable=True)
def demo_staff_ensure(*, password: str) -> str:
    """Make sure the demo superuser exists, is active and has `password`; say what was done."""
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=EMAIL).first()
    created = user is None
    if created:
        user = user_model.objects.create_user(email=EMAIL, is_staff=True, is_superuser=True, is_active=True)
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
        return "Demo staff account created."
    if user.is_staff and user.is_superuser and user.is_active and user.check_password(password):
        return "Demo staff account already present."
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save(update_fields=["is_staff", "is_superuser", "is_active", "password"])
    return "Demo staff account reset to the demo password and rights."


class Command(BaseCommand):
    help = (
        f"Create the demo superuser '{EMAIL}' (password from DEMO_STAFF_PASSWORD, "
        f"default '{DEFAULT_PASSWORD}'). Refuses to run with DEBUG off unless --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off. A superuser with a published password is a hole in a real shop.",
        )

    def handle(self, *args, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: refusing to create a superuser with a published password. "
                "Use --force if this really is a demo deployment."
            )
        password = os.environ.get("DEMO_STAFF_PASSWORD") or DEFAULT_PASSWORD
        self.stdout.write(demo_staff_ensure(password=password))
        self.stdout.write(f"  Admin:    {settings.SHOP_BASE_URL.rstrip('/')}/admin/")
        self.stdout.write(f"  Email:    {EMAIL}")
        self.stdout.write(f"  Password: {password}")
