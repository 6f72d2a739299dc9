"""The OpenAPI schema: valid with no warning, every operation's errors documented as problem details."""

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_the_schema_is_valid_and_generates_without_a_warning(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["version"] == "1.0.0"
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_every_error_response_is_a_problem(schema):
    problem = {"$ref": "#/components/schemas/Problem"}
    seen = 0
    for method, path, operation in operations(schema):
        codes = set(operation["responses"])
        assert {"400", "401", "403", "429"} <= codes, (method, path)
        if method == "POST":
            assert {"400", "409", "415", "422"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        for code, response in operation["responses"].items():
            if code >= "400":
                assert response["content"] == {"application/problem+json": {"schema": problem}}, (
                    method,
                    path,
                    code,
                )
                seen += 1
    assert seen > 0 or not schema["paths"]
    assert schema["components"]["schemas"]["Problem"]["required"] == [
        "code",
        "detail",
        "status",
        "title",
        "type",
    ]


def test_every_post_asks_for_an_idempotency_key_and_says_when_it_replays(schema):
    for method, path, operation in operations(schema):
        if method != "POST":
            continue
        header = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [(p["name"], p["required"]) for p in header] == [("Idempotency-Key", True)], path
        success = [r for code, r in operation["responses"].items() if code.startswith("2")]
        assert success and all("Idempotent-Replayed" in r["headers"] for r in success), path


def test_every_operation_needs_a_key_or_a_staff_session(schema):
    assert schema["components"]["securitySchemes"] == {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key made by staff in the admin.",
        },
        "staffSession": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    }
    for method, path, operation in operations(schema):
        assert operation["security"] == [{"apiKey": []}, {"staffSession": []}], (method, path)


def test_the_schema_is_public_and_its_readers_are_for_staff(client, django_user_model):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    for reader in ("/api/v1/docs/", "/api/v1/redoc/"):
        assert client.get(reader).status_code == 302  # to the admin's login
    client.force_login(django_user_model.objects.create_user("s@example.com", "pw", is_staff=True))
    for reader in ("/api/v1/docs/", "/api/v1/redoc/"):
        assert client.get(reader).status_code == 200


def test_the_public_schema_is_generated_once_per_process(client, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    from api.views.docs import SchemaView

    monkeypatch.setattr(SchemaView, "_generated", {})
    calls = []
    original = SchemaGenerator.get_schema
    monkeypatch.setattr(
        SchemaGenerator, "get_schema", lambda self, **kw: calls.append(1) or original(self, **kw)
    )
    first, second = client.get("/api/v1/schema/"), client.get("/api/v1/schema/?format=json")
    assert (first.status_code, second.status_code, len(calls)) == (200, 200, 1)
    assert second.json()["info"]["title"].endswith("integration API")


def test_every_operation_is_in_one_of_the_sections_the_settings_describe(schema, settings):
    sections = [tag["name"] for tag in settings.SPECTACULAR_SETTINGS["TAGS"]]
    used = {
        (path, method): operation["tags"]
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }

    assert {tuple(tags) for tags in used.values()} == {(name,) for name in sections}
    assert used[("/api/v1/variants/{variant_id}/backorder-queue/", "get")] == ["Orders"]
