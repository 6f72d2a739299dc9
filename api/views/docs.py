"""The schema and its two readers, for staff: Swagger UI and Redoc from drf-spectacular-sidecar (no CDN)."""

from django.contrib.admin.views.decorators import staff_member_required
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny


class SchemaView(SpectacularAPIView):
    """The schema is public: it says what exists, and every endpoint still needs a key."""

    permission_classes = [AllowAny]
    authentication_classes = []


@method_decorator(staff_member_required, name="dispatch")
class SwaggerView(SpectacularSwaggerView):
    permission_classes = [AllowAny]


@method_decorator(staff_member_required, name="dispatch")
class RedocView(SpectacularRedocView):
    permission_classes = [AllowAny]
