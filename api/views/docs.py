"""The schema and its two readers, for staff: Swagger UI and Redoc from drf-spectacular-sidecar (no CDN).

Both pages run under the shop's Content-Security-Policy (config/csp_policy.py): our templates
(api/templates/api/) load their setup from static files instead of inline scripts, and Redoc, which
writes its styles into <style> elements, gets this response's nonce for them (style-src only) and
the hashes of the two it writes before the nonce can reach it (api/static/api/redoc-init.js).
"""

from csp.constants import NONCE
from csp.decorators import csp_update
from django.contrib.admin.views.decorators import staff_member_required
from django.utils import translation
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """The schema is public: it says what exists, and every endpoint still needs a key.

    Generated once per process (about 90 ms each time, and anyone may ask): it changes only with the
    code, and a deploy starts new processes.
    """

    permission_classes = [AllowAny]
    authentication_classes = []
    _generated: dict = {}

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, translation.get_language())
        if key not in SchemaView._generated:
            generator = self.generator_class(
                urlconf=self.urlconf, api_version=version, patterns=self.patterns
            )
            SchemaView._generated[key] = generator.get_schema(request=request, public=self.serve_public)
        return Response(
            data=SchemaView._generated[key],
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )


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
