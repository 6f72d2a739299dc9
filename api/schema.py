"""The OpenAPI schema's shop-wide parts: the Idempotency-Key header on every POST, and every operation's
error responses as RFC 9457 problem details (the `Problem` component, `application/problem+json`).

Views document their successful answers (and may name an error code with @extend_schema); this class
adds the errors every endpoint of this kind can give, and makes every 4xx answer a Problem, so the
schema says what api.errors sends. The schemathesis contract test (api/tests/test_contract.py)
checks each response against it.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .errors import PROBLEM_TYPE_BASE, TITLES
from .idempotency import HEADER, MAX_LENGTH

PROBLEM_MEDIA_TYPE = "application/problem+json"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description="A new random value (e.g. a UUID) per request; the same value when retrying it. "
    f"1 to {MAX_LENGTH} printable characters.",
)


class Problem(serializers.Serializer):
    """An error, as RFC 9457 problem details."""

    type = serializers.CharField(help_text=f"Names the kind of problem, e.g. `{PROBLEM_TYPE_BASE}invalid`.")
    title = serializers.CharField(help_text="The HTTP status in words, e.g. “Bad request”.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong, in a sentence a person can act on.")
    code = serializers.CharField(
        help_text="A stable machine-readable code: `invalid`, `not_authenticated`, `authentication_failed`, "
        "`permission_denied`, `not_found`, `refused` (the shop refused the change: see `detail`), "
        "`idempotency_key_missing`, `idempotency_key_taken`, `idempotency_key_reused`, `throttled`, …"
    )
    errors = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="With `invalid` (400): each field's messages (a list, or an object for a nested field); "
        "messages about the request as a whole under `non_field_errors`.",
    )


# Why each error may be given, as the response's description.
ERROR_DESCRIPTIONS = {
    "400": "The request is malformed: a bad value, an unknown field or filter, a missing Idempotency-Key, "
    "a NUL byte in the address.",
    "401": "No API key, or the key is not valid or was revoked (`WWW-Authenticate: Bearer`).",
    "403": "The key lacks this endpoint's scope (or the staff account its admin permission, or the "
    "session POST its CSRF token).",
    "404": "No such resource (or a cursor that is not one of ours).",
    "409": "The shop refused the change (its state does not allow it: `detail` says why), or the "
    "Idempotency-Key belongs to another client or is in use.",
    "415": "The body is not `application/json`.",
    "422": "The Idempotency-Key was used before for a different request.",
    "429": "Over the key's rate limit; retry after `Retry-After` seconds.",
}
RESPONSE_HEADERS = {
    "401": {"WWW-Authenticate": ("string", 'How to authenticate: `Bearer realm="api"`.')},
    "429": {"Retry-After": ("integer", "Seconds until the rate limit lets this key in again.")},
}
REPLAY_HEADER = {
    "Idempotent-Replayed": (
        "string",
        "`true` when this is the kept answer to an earlier request with the "
        "same Idempotency-Key (nothing was changed again).",
    ),
}


def _headers(spec: dict) -> dict:
    return {name: {"schema": {"type": kind}, "description": text} for name, (kind, text) in spec.items()}


# The schema's sections (Swagger UI, Redoc), by the path's first part after /api/v1/. One table, so the
# sections read the same whoever wrote the endpoint; SPECTACULAR_SETTINGS["TAGS"] (config/settings_parts/api.py)
# orders and describes them.
TAGS_BY_PATH = {
    "variants": "Catalog",
    "warehouses": "Catalog",
    "stock": "Stock and the ledger",
    "ledger": "Stock and the ledger",
    "purchase-orders": "Purchasing",
    "suppliers": "Purchasing",
    "orders": "Orders",
}


class ShopAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        if self.path.endswith("/backorder-queue/"):
            return ["Orders"]  # a variant's queue is orders waiting for it
        first = self.path.removeprefix("/api/v1/").split("/", 1)[0]
        return [TAGS_BY_PATH.get(first, first)]

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_PARAMETER)
        return parameters

    def _error_codes(self) -> list[str]:
        # 400 on every operation: any request can be malformed (a bad filter, a NUL byte in its address:
        # config/middleware.py answers that for the API as a problem too).
        codes = ["400", "401", "403", "429"]
        if "{" in self.path or self._get_pagination_parameters():
            codes.append("404")  # a path's object, or a cursor that does not decode
        if self.method not in ("GET", "HEAD", "DELETE"):
            codes += ["409", "415", "422"]
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code]})
        problem_ref = self.resolve_serializer(Problem, "response").ref
        for code, response in responses.items():
            if code >= "400":  # every error answer is a Problem, whatever the view declared
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
                response["description"] = response.get("description") or ERROR_DESCRIPTIONS.get(
                    code, TITLES.get(int(code), "Error")
                )
                if code in RESPONSE_HEADERS:
                    response["headers"] = _headers(RESPONSE_HEADERS[code])
            elif self.method == "POST" and code.startswith("2"):
                response["headers"] = {**response.get("headers", {}), **_headers(REPLAY_HEADER)}
        return dict(sorted(responses.items()))
