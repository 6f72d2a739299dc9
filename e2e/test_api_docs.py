"""In Chromium, against the shop running for real (gunicorn, production settings and CSP): staff create
an API key in the admin (shown once), an integration uses it (its last use shows), staff revoke it
(the next request is 401); Swagger UI (/api/v1/docs/) and Redoc (/api/v1/redoc/) render the schema
under the shop's Content-Security-Policy. At 1280 and 390 px, no CSP violation, no script error.
Screenshots in e2e/screenshots/api/."""

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from api.models import ApiKey
from e2e.helpers import SCREENSHOTS_DIR, Screenshots, a_staff_member, admin_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def call(url: str, key: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        assert error.headers["Content-Type"] == "application/problem+json"
        assert json.loads(error.read())["status"] == error.code
        return error.code


def test_staff_create_use_and_revoke_a_key_and_read_the_api_docs(live_shop, browser_session):
    a_staff_member()
    shop = live_shop()
    shots = Screenshots(folder=SCREENSHOTS_DIR / "api")
    staff = browser_session.new_page("staff", base_url=shop.url)
    admin_login(staff)

    staff.goto("/admin/api/apikey/add/")
    staff.get_by_label("Name").fill("Warehouse system")
    staff.get_by_label("catalog:read", exact=False).check()
    staff.get_by_label("stock:write", exact=False).check()
    staff.get_by_label("Rate limit per minute").fill("120")
    shots.take(staff, "key-form")
    staff.get_by_role("button", name="Save", exact=True).click()
    warning = staff.locator(".messagelist .warning")
    expect(warning).to_contain_text("Copy it now: it is shown only this once")
    raw = re.search(r"shk_[0-9a-f]{8}_[\w-]{43}", warning.inner_text()).group(0)
    shots.take(staff, "key-created")
    staff.reload()
    expect(staff.locator(".messagelist")).to_have_count(0)  # shown once
    assert raw not in staff.content()

    # Without any endpoint to name, the schema's first path answers the key: anything but 401 is in.
    schema = json.loads(urllib.request.urlopen(f"{shop.url}/api/v1/schema/?format=json", timeout=10).read())
    first_get = next(p for p, item in schema["paths"].items() if "get" in item and "{" not in p)
    assert call(f"{shop.url}{first_get}", raw) in (200, 403)
    key = ApiKey.objects.get()
    assert key.last_used_at is not None
    staff.goto("/admin/api/apikey/")
    row = staff.locator("#result_list tbody tr", has_text="Warehouse system")
    expect(row).to_contain_text("Active")
    expect(row).not_to_contain_text("Never")
    shots.take(staff, "keys-list")

    row.locator("input.action-select").check()
    staff.locator("select[name=action]").select_option("revoke_keys")
    staff.get_by_role("button", name="Go").click()
    expect(staff.locator(".messagelist")).to_contain_text("1 key revoked.")
    expect(staff.locator("#result_list tbody tr", has_text="Warehouse system")).to_contain_text("Revoked ")
    shots.take(staff, "key-revoked")
    assert call(f"{shop.url}{first_get}", raw) == 401

    staff.goto("/api/v1/docs/")
    expect(staff.locator(".swagger-ui .info .title")).to_contain_text("integration API")
    expect(staff.locator(".swagger-ui .opblock").first).to_be_visible()
    shots.take(staff, "swagger")

    staff.goto("/api/v1/redoc/")
    expect(staff.get_by_role("heading", level=1)).to_contain_text("integration API")
    expect(staff.locator("[data-section-id]").first).to_be_attached()
    shots.take(staff, "redoc")

    browser_session.assert_clean()
