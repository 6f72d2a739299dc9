"""/api/v1/: the integration API (docs/api.md). Each sub-domain's routes live in api/routes/."""

from django.urls import include, path, re_path

from .errors import not_found
from .views.docs import RedocView, SchemaView, SwaggerView

app_name = "api"

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", RedocView.as_view(url_name="api:schema"), name="redoc"),
    path("", include("api.routes.catalog")),
    path("", include("api.routes.stock")),
    path("", include("api.routes.purchasing")),
    path("", include("api.routes.orders")),
    # Last: any other path under /api/v1/ is a problem+json 404, not the shop's HTML page.
    re_path(r"", not_found, name="not-found"),
]
