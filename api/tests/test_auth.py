"""Who may call the API: keys (none, malformed, revoked, wrong scope) and staff sessions mapped onto the
admin's roles (inventory/migrations/0005_staff_roles.py and later), CSRF on a session's writes."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiKey
from api.services import api_key_revoke
from api.tests.conftest import idempotency_headers

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api.tests.probe")]

PROBE = "/api/v1/stock-probe/"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == "https://docs.shop.invalid/api/problems/" + code.replace("_", "-")
    return body


def test_no_key_is_401_with_a_bearer_challenge():
    response = APIClient().get(PROBE)
    body = assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert body["title"] == "Not authenticated"
    assert body["detail"] == "Authentication credentials were not provided."


@pytest.mark.parametrize(
    "header",
    [
        "Bearer shk_0000_not-a-key",
        "Bearer not-even-our-prefix",
        "Bearer " + "shk_" + "x" * 200,
        "Bearer",
        "Bearer two words",
    ],
)
def test_a_malformed_or_unknown_key_is_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(PROBE)
    assert_problem(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_key_is_401_from_its_next_request(api_client_with):
    client = api_client_with("catalog:read")
    assert client.get(PROBE).status_code == 200
    assert api_key_revoke(key_id=client.api_key.pk) is True
    assert api_key_revoke(key_id=client.api_key.pk) is False  # once
    body = assert_problem(client.get(PROBE), 401, "authentication_failed")
    assert body["detail"] == "The API key is not valid, or it was revoked."


def test_a_key_notes_its_last_use_at_most_once_a_minute(api_client_with, django_assert_num_queries):
    client = api_client_with("catalog:read")
    assert ApiKey.objects.get(pk=client.api_key.pk).last_used_at is None
    before = timezone.now()
    client.get(PROBE)
    first = ApiKey.objects.get(pk=client.api_key.pk).last_used_at
    assert first >= before
    with django_assert_num_queries(1):  # the key's lookup; no second write within the minute
        assert client.get(PROBE).status_code == 200
    assert ApiKey.objects.get(pk=client.api_key.pk).last_used_at == first


def test_a_key_without_the_scope_is_403_and_changes_nothing(api_client_with):
    client = api_client_with("catalog:read")
    response = client.post(
        PROBE,
        {"variant_id": 1, "warehouse_id": 1, "quantity_change": 5},
        format="json",
        **idempotency_headers(),
    )
    body = assert_problem(response, 403, "permission_denied")
    assert body["detail"] == "This key or account may not do this: it lacks the “stock:write” scope."
    assert api_client_with("stock:write").get(PROBE).status_code == 403  # stock:write alone does not read


def test_a_view_that_names_no_scope_is_closed(api_client_with):
    assert_problem(api_client_with().get("/api/v1/no-scope-probe/"), 403, "permission_denied")


def test_an_unknown_path_under_the_api_is_a_problem_404(api_client_with):
    body = assert_problem(APIClient().get("/api/v1/nothing-here/"), 404, "not_found")
    assert body["detail"].startswith("No endpoint at /api/v1/nothing-here/.")
    # A POST too, with a key and no CSRF token (not the CSRF failure page)
    client = api_client_with("stock:write")
    client.handler.enforce_csrf_checks = True
    assert_problem(client.post("/api/v1/stock-probe/-1/", {}, format="json"), 404, "not_found")


# --- Staff sessions: the admin's roles ---------------------------------------------------------------


def staff_client(django_user_model, *, group: str | None = None, superuser: bool = False, csrf=False):
    if superuser:
        user = django_user_model.objects.create_superuser("root@example.com", "pw")
    else:
        user = django_user_model.objects.create_user(
            f"staff-{group or 'none'}@example.com", "pw", is_staff=True
        )
        if group:
            user.groups.set([Group.objects.get(name=group)])
    client = APIClient(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


# (role, GET stock, POST stock, GET orders, POST orders, POST ship): as the admin lets each role.
ROLE_MATRIX = [
    ("Catalog", 403, 403, 403, 403, 403),
    ("Warehouse", 200, 201, 200, 403, 200),
    ("Customer service", 200, 403, 200, 200, 200),
]


@pytest.mark.parametrize("group,get_stock,post_stock,get_orders,post_orders,post_ship", ROLE_MATRIX)
def test_staff_roles_map_onto_the_api_like_the_admin(
    django_user_model, stocked, group, get_stock, post_stock, get_orders, post_orders, post_ship
):
    client = staff_client(django_user_model, group=group)
    assert client.get(PROBE).status_code == get_stock
    response = client.post(PROBE, stocked.adjust(2), format="json", **idempotency_headers())
    assert response.status_code == post_stock
    assert stocked.on_hand() == (12 if post_stock == 201 else 10)
    assert client.get("/api/v1/orders-probe/").status_code == get_orders
    assert client.post("/api/v1/orders-probe/", {}, format="json", **idempotency_headers()).status_code == (
        post_orders
    )
    assert client.post("/api/v1/ship-probe/", {}, format="json", **idempotency_headers()).status_code == (
        post_ship
    )


def test_a_superuser_may_do_everything(django_user_model, stocked):
    client = staff_client(django_user_model, superuser=True)
    assert client.get(PROBE).status_code == 200
    assert client.post(PROBE, stocked.adjust(1), format="json", **idempotency_headers()).status_code == 201
    assert stocked.on_hand() == 11


def test_staff_without_a_role_may_do_nothing(django_user_model):
    client = staff_client(django_user_model)
    assert_problem(client.get(PROBE), 403, "permission_denied")


def test_a_logged_in_customer_is_not_authenticated_for_the_api(django_user_model, stocked):
    customer = django_user_model.objects.create_user("carol@example.com", "pw")
    client = APIClient()
    client.force_login(customer)
    assert_problem(client.get(PROBE), 401, "not_authenticated")
    response = client.post(PROBE, stocked.adjust(1), format="json", **idempotency_headers())
    assert_problem(response, 401, "not_authenticated")
    assert stocked.on_hand() == 10


def test_a_session_post_needs_its_csrf_token(django_user_model, stocked):
    client = staff_client(django_user_model, superuser=True, csrf=True)
    response = client.post(PROBE, stocked.adjust(3), format="json", **idempotency_headers())
    body = assert_problem(response, 403, "permission_denied")
    assert body["detail"].startswith("CSRF Failed")
    assert stocked.on_hand() == 10
    token = "a" * 32
    client.cookies["csrftoken"] = token
    response = client.post(
        PROBE, stocked.adjust(3), format="json", HTTP_X_CSRFTOKEN=token, **idempotency_headers()
    )
    assert response.status_code == 201, response.content
    assert stocked.on_hand() == 13


def test_a_key_wins_over_a_session_and_needs_no_csrf(api_client_with, django_user_model, stocked):
    client = api_client_with("stock:write", "catalog:read")
    client.force_login(django_user_model.objects.create_user("c@example.com", "pw"))
    client.handler.enforce_csrf_checks = True
    assert client.post(PROBE, stocked.adjust(1), format="json", **idempotency_headers()).status_code == 201
