import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def alice():
    return User.objects.create_user(email="alice@example.com", password=PASSWORD)


def test_signup_creates_user_and_logs_in(client):
    # when
    response = client.post(
        reverse("signup"),
        {"email": "bob@example.com", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )

    # then
    user = User.objects.get(email="bob@example.com")
    assert user.email == "bob@example.com"
    assert user.check_password(PASSWORD)
    assert response.redirect_chain == [(reverse("shop:home"), 302)]
    assert response.context["user"] == user
    assert b"Welcome! Your account is ready." in response.content


def test_signup_follows_safe_next_but_not_foreign_one(client):
    data = {"email": "bob@example.com", "password1": PASSWORD, "password2": PASSWORD}

    response = client.post(reverse("signup") + "?next=https://evil.example/", data)

    assert response.status_code == 302
    assert response["Location"] == reverse("shop:home")


def test_signup_redirects_to_next(client):
    data = {"email": "bob@example.com", "password1": PASSWORD, "password2": PASSWORD}

    response = client.post(reverse("signup"), {**data, "next": "/search/?q=kettle"})

    assert response["Location"] == "/search/?q=kettle"


def test_signup_requires_email(client):
    response = client.post(reverse("signup"), {"email": "", "password1": PASSWORD, "password2": PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["This field is required."]
    assert User.objects.count() == 0
    assert "_auth_user_id" not in client.session


def test_signup_refuses_an_email_already_in_use(client, alice):
    response = client.post(
        reverse("signup"),
        {"email": "ALICE@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.context["form"].errors["email"] == ["An account with this email address already exists."]
    assert list(User.objects.values_list("email", flat=True)) == ["alice@example.com"]


def test_signup_page_renders_crispy_form(client):
    response = client.get(reverse("signup"))

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="div_id_email"' in content  # crispy's Bootstrap 5 field wrapper
    assert 'class="emailinput form-control" required' in content


def test_login_and_logout(client, alice):
    # when: log in
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": PASSWORD})

    # then
    assert response["Location"] == reverse("shop:home")
    assert client.session["_auth_user_id"] == str(alice.pk)
    home = client.get(reverse("shop:home"))
    assert f'action="{reverse("logout")}"'.encode() in home.content

    # when: log out with the navbar's POST form
    response = client.post(reverse("logout"))

    # then
    assert response["Location"] == reverse("shop:home")
    assert "_auth_user_id" not in client.session


def test_logout_by_get_is_refused(client, alice):
    client.force_login(alice)

    response = client.get(reverse("logout"))

    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_password_change(client, alice):
    client.force_login(alice)

    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-secret-9",
            "new_password2": "another-long-secret-9",
        },
    )

    assert response["Location"] == reverse("password_change_done")
    alice.refresh_from_db()
    assert alice.check_password("another-long-secret-9")
    assert client.get(reverse("password_change_done")).status_code == 200


def test_password_reset_sends_one_email_with_working_link(
    client, alice, mailoutbox, settings, django_capture_on_commit_callbacks
):
    # when (the worker sends the email after the request's commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    # then
    assert response["Location"] == reverse("password_reset_done")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["alice@example.com"]
    assert mail.subject == f"Reset your password at {settings.SHOP_NAME}"
    match = re.search(r"https?://[^/\s]+(/accounts/reset/[^\s]+/)", mail.body)
    assert match is not None

    # and the link lets alice choose a new password
    confirm = client.get(match.group(1), follow=True)
    assert confirm.context["validlink"] is True
    done = client.post(
        confirm.redirect_chain[-1][0],
        {"new_password1": "brand-new-secret-42", "new_password2": "brand-new-secret-42"},
    )
    assert done["Location"] == reverse("password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password("brand-new-secret-42")


def test_password_reset_for_unknown_email_sends_nothing(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response["Location"] == reverse("password_reset_done")
    assert len(callbacks) == 1  # the worker did look the address up
    assert mailoutbox == []


def without_csrf_token(response) -> str:
    """The page without the token of its forms (the language switcher's), new on every response."""
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', response.content.decode()
    )


def test_password_reset_done_names_the_address_typed_and_nothing_more(client, alice):
    # given: one address with an account, one without
    known = client.post(reverse("password_reset"), {"email": "alice@example.com"}, follow=True)
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)

    # then: each page names what was typed, in the same sentence (nothing says which has an account)
    sentence = 'If an account uses <strong class="text-break">{}</strong>, we have sent it a link to choose a new password.'
    assert sentence.format("alice@example.com") in known.content.decode()
    assert sentence.format("nobody@example.com") in unknown.content.decode()
    assert without_csrf_token(known).replace("alice@", "nobody@") == without_csrf_token(unknown)


def test_password_reset_done_opened_directly_names_no_address(client):
    response = client.get(reverse("password_reset_done"))

    assert "If an account uses the address you entered, we have sent it a link" in response.content.decode()


def test_invalid_reset_link_says_so(client):
    response = client.get(reverse("password_reset_confirm", kwargs={"uidb64": "xx", "token": "bad"}))

    assert response.status_code == 200
    assert b"This link no longer works" in response.content


def test_account_page_needs_login(client, alice):
    assert client.get(reverse("account"))["Location"] == f"{reverse('login')}?next={reverse('account')}"

    client.force_login(alice)
    response = client.get(reverse("account"))

    assert response.status_code == 200
    assert b"alice@example.com" in response.content


@pytest.mark.parametrize(
    "name", ["login", "signup", "password_reset", "password_reset_done", "password_reset_complete"]
)
def test_anonymous_auth_pages_render(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert b'<html lang="en">' in response.content
