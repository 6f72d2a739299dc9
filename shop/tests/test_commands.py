"""demo_staff: a known admin login for demo shops, never by accident on a real one."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

User = get_user_model()


def demo_staff(*args: str) -> str:
    out = StringIO()
    call_command("demo_staff", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def debug_on(settings, monkeypatch):
    settings.DEBUG = True
    settings.SHOP_BASE_URL = "http://127.0.0.1:8000"
    monkeypatch.delenv("DEMO_STAFF_PASSWORD", raising=False)


def test_creates_one_superuser_and_prints_how_to_log_in(debug_on):
    output = demo_staff()

    user = User.objects.get()
    assert user.email == "admin@example.com"
    assert user.is_staff and user.is_superuser and user.is_active
    assert user.check_password("admin-demo-2026")
    assert output.splitlines() == [
        "Demo staff account created.",
        "  Admin:    http://127.0.0.1:8000/admin/",
        "  Email:    admin@example.com",
        "  Password: admin-demo-2026",
    ]


def test_second_run_does_not_duplicate(debug_on):
    demo_staff()

    output = demo_staff()

    assert User.objects.count() == 1
    assert output.startswith("Demo staff account already present.")


def test_second_run_restores_a_changed_password_and_rights(debug_on):
    demo_staff()
    User.objects.filter(email="admin@example.com").update(is_superuser=False)

    output = demo_staff()

    user = User.objects.get()
    assert user.is_superuser
    assert user.check_password("admin-demo-2026")
    assert output.startswith("Demo staff account reset")


def test_password_comes_from_the_environment_when_set(debug_on, monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "correct-horse-battery")

    output = demo_staff()

    assert User.objects.get().check_password("correct-horse-battery")
    assert "  Password: correct-horse-battery" in output.splitlines()


def test_refuses_when_debug_is_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        demo_staff()

    assert User.objects.count() == 0


def test_force_runs_with_debug_off(settings):
    settings.DEBUG = False

    demo_staff("--force")

    assert User.objects.filter(email="admin@example.com", is_superuser=True).count() == 1
