"""accounts.User and its manager: the email is the login, one account per address whatever its case;
logging in by email (shop.views.LoginView, Django's ModelBackend through the manager); the admin."""

import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory, user_create

pytestmark = pytest.mark.django_db


def test_create_user_normalises_the_domain_and_has_no_staff_rights():
    user = User.objects.create_user(email=" Ann@Example.COM ", password="pw")

    assert (user.email, user.is_staff, user.is_superuser, user.is_active) == (
        "Ann@example.com",
        False,
        False,
        True,
    )
    assert (user.email_verified_at, user.language, user.get_username(), str(user)) == (
        None,
        "",
        "Ann@example.com",
        "Ann@example.com",
    )
    assert user.check_password("pw")


def test_create_user_without_a_password_cannot_log_in():
    user = User.objects.create_user(email="nopw@example.com")

    assert not user.has_usable_password()
    assert authenticate(username="nopw@example.com", password="") is None


def test_create_user_needs_an_email():
    with pytest.raises(ValueError, match="A user needs an email address."):
        User.objects.create_user(email="", password="pw")
    assert User.objects.count() == 0


def test_create_superuser_is_staff_and_superuser():
    boss = User.objects.create_superuser(email="boss@example.com", password="pw")

    assert (boss.is_staff, boss.is_superuser) == (True, True)
    with pytest.raises(ValueError, match="is_superuser=True"):
        User.objects.create_superuser(email="half@example.com", password="pw", is_superuser=False)
    assert list(User.objects.values_list("email", flat=True)) == ["boss@example.com"]


def test_one_account_per_address_whatever_its_case():
    user_create(email="ann@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email="ANN@example.com", password="pw")
    assert list(User.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_the_natural_key_is_the_email_in_any_case():
    ann = user_create(email="Ann@example.com")

    assert User.objects.get_by_natural_key(" ann@EXAMPLE.com") == ann
    assert authenticate(username="ANN@example.com", password=PASSWORD) == ann
    assert authenticate(username="ann@example.com", password="wrong") is None


def test_factory_makes_customers_with_the_test_password():
    user = UserFactory(email="f@example.com")

    assert user.check_password(PASSWORD)
    assert User.objects.get(email="f@example.com").check_password(PASSWORD)


# --- logging in -----------------------------------------------------------------------------------


def test_login_form_asks_for_the_email_address(client):
    response = client.get(reverse("login"))

    form = response.context["form"]
    assert form.fields["username"].label == "Email address"
    assert form.fields["username"].max_length == 254


def test_login_by_email_in_any_case(client):
    ann = user_create(email="ann@example.com")

    response = client.post(reverse("login"), {"username": " ANN@Example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(ann.pk)


def test_login_with_a_wrong_password_says_email_address(client):
    user_create(email="ann@example.com")

    response = client.post(reverse("login"), {"username": "ann@example.com", "password": "wrong"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].non_field_errors() == [
        "Please enter a correct email address and password. Note that both fields may be case-sensitive."
    ]


def test_an_inactive_account_cannot_log_in(client):
    user_create(email="gone@example.com", is_active=False)

    client.post(reverse("login"), {"username": "gone@example.com", "password": PASSWORD})

    assert "_auth_user_id" not in client.session


def test_password_reset_finds_the_account_by_email_in_any_case(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    user_create(email="ann@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": "ANN@example.com"})

    assert [m.to for m in mailoutbox] == [["ann@example.com"]]


# --- the admin ------------------------------------------------------------------------------------


def test_admin_user_list_by_email_with_confirmed_column(admin_client, django_assert_max_num_queries):
    for n in range(20):
        user_create(email=f"c{n}@example.com", email_verified_at=timezone.now() if n % 2 else None)

    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("admin:accounts_user_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 21  # and the admin
    assert list(response.context["cl"].list_display) == [
        "action_checkbox",
        "email",
        "first_name",
        "last_name",
        "is_staff",
        "is_superuser",
        "verified",
    ]


def test_admin_adds_a_user_by_email_and_refuses_an_address_taken_in_another_case(admin_client):
    user_create(email="ann@example.com")
    add = reverse("admin:accounts_user_add")
    data = {"usable_password": "true", "password1": "Un-guessable-42!", "password2": "Un-guessable-42!"}

    refused = admin_client.post(add, {**data, "email": "ANN@example.com"})
    created = admin_client.post(add, {**data, "email": "bea@example.com"})

    assert refused.context["adminform"].form.errors["email"] == [
        "An account with this email address already exists."
    ]
    assert created.status_code == 302
    assert User.objects.get(email="bea@example.com").check_password("Un-guessable-42!")
    assert User.objects.filter(email__iexact="ann@example.com").count() == 1


def test_admin_changing_the_email_unconfirms_it(admin_client):
    ann = user_create(email="ann@example.com", email_verified_at=timezone.now())
    change = reverse("admin:accounts_user_change", args=[ann.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions")
    }
    data.update(
        email="ann@new.example",
        date_joined_0=ann.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=ann.date_joined.strftime("%H:%M:%S"),
        email_verified_at_0=ann.email_verified_at.strftime("%Y-%m-%d"),
        email_verified_at_1=ann.email_verified_at.strftime("%H:%M:%S"),
    )
    data.pop("date_joined", None)
    data.pop("email_verified_at", None)
    data.pop("last_login", None)

    response = admin_client.post(change, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    ann.refresh_from_db()
    assert (ann.email, ann.email_verified_at) == ("ann@new.example", None)
