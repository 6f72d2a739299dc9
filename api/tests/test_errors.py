"""Errors as RFC 9457 problem details, and the rate limit per key (429 with Retry-After)."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions

from api.errors import problem_exception_handler
from api.tests.conftest import idempotency_headers
from inventory.services.errors import InsufficientStock
from orders.services.errors import OrderActionError
from shop.submissions import AlreadySubmitted

pytestmark = [pytest.mark.urls("api.tests.probe")]

PROBE = "/api/v1/stock-probe/"


@pytest.mark.django_db
def test_malformed_json_is_400(api_client_with):
    response = api_client_with("stock:write").post(
        PROBE, "{not json", content_type="application/json", **idempotency_headers()
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "parse_error"
    assert response.json()["detail"].startswith("JSON parse error")


@pytest.mark.django_db
def test_a_form_body_is_415(api_client_with):
    response = api_client_with("stock:write").post(
        PROBE, {"a": "1"}, format="multipart", **idempotency_headers()
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_a_missing_field_is_400_with_each_fields_messages(api_client_with):
    response = api_client_with("stock:write").post(
        PROBE, {"variant_id": "x"}, format="json", **idempotency_headers()
    )
    assert response.status_code == 400
    body = response.json()
    assert body == {
        "type": "https://docs.shop.invalid/api/problems/invalid",
        "title": "Bad request",
        "status": 400,
        "detail": "variant_id: A valid integer is required.",
        "code": "invalid",
        "errors": {
            "variant_id": ["A valid integer is required."],
            "warehouse_id": ["This field is required."],
            "quantity_change": ["This field is required."],
        },
    }


@pytest.mark.parametrize(
    "exc,status,code,detail,errors",
    [
        (InsufficientStock("Cannot remove 3."), 409, "refused", "Cannot remove 3.", None),
        (OrderActionError("Nothing is waiting."), 409, "refused", "Nothing is waiting.", None),
        (
            AlreadySubmitted(created_at=None),
            409,
            "already_applied",
            "This form was already sent; it was not applied a second time.",
            None,
        ),
        (
            DjangoValidationError({"note": ["Too long."]}),
            400,
            "invalid",
            "note: Too long.",
            {"note": ["Too long."]},
        ),
        (
            DjangoValidationError("Bad date."),
            400,
            "invalid",
            "Bad date.",
            {"non_field_errors": ["Bad date."]},
        ),
        (
            exceptions.ValidationError(["One.", "Two."]),
            400,
            "invalid",
            "One.",
            {"non_field_errors": ["One.", "Two."]},
        ),
        (exceptions.MethodNotAllowed("PUT"), 405, "method_not_allowed", 'Method "PUT" not allowed.', None),
    ],
)
def test_exceptions_become_problems(exc, status, code, detail, errors):
    response = problem_exception_handler(exc, {})
    expected = {
        "type": "https://docs.shop.invalid/api/problems/" + code.replace("_", "-"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    body = {k: v for k, v in response.data.items() if k != "title"}
    assert body == {**expected, **({"errors": errors} if errors else {})}
    assert response.status_code == status
    assert response.content_type == "application/problem+json"


def test_a_bug_is_left_to_the_usual_500_handling():
    assert problem_exception_handler(ZeroDivisionError(), {}) is None


@pytest.fixture
def mid_window(monkeypatch):
    """20 s into a one-minute window, so no test's requests straddle two windows."""
    from api import throttling

    monkeypatch.setattr(throttling, "_now", lambda: 1_800_000_020.0)


@pytest.mark.django_db
def test_each_key_has_its_own_rate_limit(api_client_with, mid_window):
    slow, other = api_client_with("catalog:read", rate_limit_per_minute=3), api_client_with("catalog:read")
    assert [slow.get(PROBE).status_code for _ in range(3)] == [200, 200, 200]
    refused = slow.get(PROBE)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "throttled"
    assert refused["Retry-After"] == "40"  # the window's end
    assert other.get(PROBE).status_code == 200  # another key is counted apart


@pytest.mark.django_db
def test_staff_sessions_have_their_own_rate_limit(django_user_model, settings, mid_window):
    from rest_framework.test import APIClient

    settings.API_STAFF_RATE_PER_MINUTE = 2
    client = APIClient()
    client.force_login(django_user_model.objects.create_superuser("r@example.com", "pw"))
    assert [client.get(PROBE).status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.django_db
def test_the_rate_limit_is_off_with_ratelimit_enable_off(api_client_with, settings):
    settings.RATELIMIT_ENABLE = False
    client = api_client_with("catalog:read", rate_limit_per_minute=1)
    assert [client.get(PROBE).status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.django_db
def test_a_cache_outage_lets_requests_through(api_client_with, monkeypatch, settings):
    from api import throttling

    def down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(throttling.cache, "add", down)
    client = api_client_with("catalog:read", rate_limit_per_minute=1)
    assert [client.get(PROBE).status_code for _ in range(2)] == [200, 200]
    settings.RATELIMIT_FAIL_OPEN = False
    with pytest.raises(ConnectionError):
        client.get(PROBE)
