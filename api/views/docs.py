"""The schema and its two readers, for staff: Swagger UI and Redoc from drf-spectacular-sidecar (no CDN).

Both pages run under the shop's Content-Security-Policy (config/csp_policy.py): our templates
(api/templates/api/) load their setup from static files instead of inline scripts, and Redoc, which
writes its styles into <style> elements, gets this response's nonce for them (style-src only) and
the hashes of the two it writes before the nonce can reach it (api/static/api/redoc-init.js).
"""

from csp.constants import NONCE
from csp.decorators import csp_update
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
    template_name = "api/swagger_ui.html"


# The two <style> elements redoc.standalone.js (drf-spectacular-sidecar, pinned) writes as it loads, before
# Redoc's `nonce` option can reach them: an empty one and its scrollbar's CSS. A new sidecar that changes
# them shows as a CSP violation in e2e/test_api_docs.py.
REDOC_LOAD_STYLE_HASHES = [
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
]


@method_decorator(csp_update({"style-src": [NONCE, *REDOC_LOAD_STYLE_HASHES]}), name="dispatch")
@method_decorator(staff_member_required, name="dispatch")
class RedocView(SpectacularRedocView):
    permission_classes = [AllowAny]
    template_name = "api/redoc.html"
