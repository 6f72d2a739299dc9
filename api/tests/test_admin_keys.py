"""Staff create keys in the admin (shown once), revoke them with the list's action, see their last use."""

import re

import pytest
from django.contrib.messages import get_messages

from api.models import ApiKey
from api.services import api_key_create, api_key_hash

pytestmark = pytest.mark.django_db

ADD = "/admin/api/apikey/add/"
LIST = "/admin/api/apikey/"


@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("lead@example.com", "pw")
    client.force_login(user)
    client.user = user
    return client


def test_creating_a_key_shows_it_once_and_stores_only_its_hash(admin):
    response = admin.post(
        ADD,
        {"name": "Warehouse system", "scopes": ["catalog:read", "stock:write"], "rate_limit_per_minute": 120},
        follow=True,
    )
    assert response.status_code == 200
    messages = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    shown = [text for level, text in messages if level == "warning"]
    assert len(shown) == 1
    raw = re.search(r"<code>(shk_[0-9a-f]{8}_[\w-]{43})</code>", shown[0]).group(1)
    key = ApiKey.objects.get()
    assert (key.name, key.scopes, key.rate_limit_per_minute, key.created_by) == (
        "Warehouse system",
        ["catalog:read", "stock:write"],
        120,
        admin.user,
    )
    assert raw.startswith(f"shk_{key.prefix}_")
    assert key.key_hash == api_key_hash(raw)
    assert raw not in str(ApiKey.objects.values().get())
    assert raw in response.content.decode()  # on the page it lands on, once
    assert raw not in admin.get(LIST).content.decode()
    assert raw not in admin.get(f"{LIST}{key.pk}/change/").content.decode()
    from api.services import api_key_authenticate

    assert api_key_authenticate(raw=raw) == key


@pytest.mark.parametrize(
    "data,field",
    [
        ({"name": "ERP", "scopes": [], "rate_limit_per_minute": 60}, "scopes"),
        ({"name": "ERP", "scopes": ["everything"], "rate_limit_per_minute": 60}, "scopes"),
        ({"name": "ERP", "scopes": ["orders"], "rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"name": "", "scopes": ["orders"], "rate_limit_per_minute": 60}, "name"),
    ],
)
def test_a_bad_key_form_is_shown_again_with_its_error(admin, data, field):
    response = admin.post(ADD, data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert ApiKey.objects.count() == 0


def test_the_revoke_action_stops_the_selected_keys(admin):
    (one, _), (two, _), (three, _) = (
        api_key_create(name=n, scopes=["orders"], created_by_id=None) for n in ("One", "Two", "Three")
    )
    response = admin.post(LIST, {"action": "revoke_keys", "_selected_action": [one.pk, two.pk]}, follow=True)
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["2 keys revoked."]
    assert sorted(ApiKey.objects.filter(revoked_at__isnull=False).values_list("name", flat=True)) == [
        "One",
        "Two",
    ]
    page = response.content.decode()
    assert page.count("Revoked ") == 2
    assert "Active" in page


def test_the_list_shows_the_last_use(admin):
    key, raw = api_key_create(name="CRM", scopes=["orders"], created_by_id=None)
    assert "Never" in admin.get(LIST).content.decode()
    from api.services import api_key_authenticate

    api_key_authenticate(raw=raw)
    key.refresh_from_db()
    from django.utils import timezone

    assert f"{timezone.localtime(key.last_used_at):%-d %b %Y %H:%M}" in admin.get(LIST).content.decode()


def test_keys_are_not_deleted_nor_edited(admin):
    key, _ = api_key_create(name="CRM", scopes=["orders"], created_by_id=None)
    assert admin.get(f"{LIST}{key.pk}/delete/").status_code == 403
    admin.post(f"{LIST}{key.pk}/change/", {"name": "Renamed"})
    key.refresh_from_db()
    assert key.name == "CRM"


def test_the_list_filters_active_and_revoked_keys(admin):
    (one, _), (two, _) = (
        api_key_create(name=n, scopes=["orders"], created_by_id=None) for n in ("One", "Two")
    )
    from api.services import api_key_revoke

    api_key_revoke(key_id=two.pk)
    assert [k.name for k in admin.get(LIST + "?state=active").context["cl"].result_list] == ["One"]
    assert [k.name for k in admin.get(LIST + "?state=revoked").context["cl"].result_list] == ["Two"]


def test_docs_list_every_scope_and_no_other():
    from pathlib import Path

    from api.scopes import SCOPES

    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    section = docs.split("## Getting a key", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z:]+)` \|", section, flags=re.MULTILINE)
    assert listed == list(SCOPES)


def test_each_key_has_an_acting_account_that_cannot_sign_in(client):
    key, raw = api_key_create(name="Warehouse system", scopes=["catalog:read"], created_by_id=None)

    user = key.acting_user
    assert user.email == f"api-warehouse-system-{key.prefix}@api.invalid"
    assert (user.first_name, user.last_name) == ("Warehouse system", "(API key)")
    assert (user.is_active, user.is_staff, user.is_superuser, user.has_usable_password()) == (
        False,
        False,
        False,
        False,
    )
    assert client.login(username=user.email, password="") is False
    assert client.login(username=user.email, password=raw) is False
