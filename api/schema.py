"""The OpenAPI schema's shop-wide parts: the Idempotency-Key header on every POST, problem responses."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from .idempotency import HEADER, MAX_LENGTH

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description="A new random value (e.g. a UUID) per request; the same value when retrying it. "
    f"1 to {MAX_LENGTH} printable characters.",
)


class ShopAutoSchema(AutoSchema):
    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_PARAMETER)
        return parameters
