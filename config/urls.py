"""Top-level URL routing."""

import re

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path

from config.observability.metrics import metrics_view
from inventory.console.dashboard import dashboard_view
from inventory.console.replenishment import replenishment_view
from inventory.console.stock_counts import stock_count_import_view
from inventory.console.supplier_loop import draft_shortfall_view
from orders.views.stripe_webhook import stripe_webhook
from shop.views import admin_login, health, language_switch

admin.site.site_header = f"{settings.SHOP_NAME} administration"
admin.site.site_title = settings.SHOP_NAME
admin.site.index_title = "Shop administration"

urlpatterns = [
    # The staff console (docs/staff.md): admin pages that belong to no single model.
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="staff_dashboard"),
    path(
        "admin/replenishment/",
        admin.site.admin_view(replenishment_view),
        name="staff_replenishment",
    ),
    path(
        "admin/dashboard/draft-shortfall/",
        admin.site.admin_view(draft_shortfall_view),
        name="staff_draft_shortfall",
    ),
    path(
        "admin/stock-counts/import/",
        admin.site.admin_view(stock_count_import_view),
        name="staff_stock_count_import",
    ),
    # The admin's login, throttled like the customers' login (shop.views.admin_login).
    path("admin/login/", admin_login, name="admin_login_throttled"),
    path("admin/", admin.site.urls),
    # The integration API (api/, docs/api.md): keys, scopes, the OpenAPI schema at /api/v1/schema/.
    path("api/v1/", include("api.urls")),
    # Stripe's events (orders.views.stripe_webhook); the address Stripe's dashboard is given.
    path("payments/stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    # A supplier's page behind the link in a purchase order's email (inventory.views): English.
    path("suppliers/", include("inventory.urls")),
    # Prometheus scrapes this with METRICS_TOKEN (config.observability.metrics; docs/operations.md).
    path("metrics", metrics_view, name="metrics"),
    # Load balancers' health check (shop.views.health): no language, never redirected.
    path("healthz", health, name="health"),
    # The navbar's language switcher (POST; docs/i18n.md).
    path("i18n/language/", language_switch, name="set_language"),
]

# The customer's pages, in every language of settings.LANGUAGES (docs/i18n.md): English at the paths
# they always had, German under /de/. Signed links from emails work under both.
urlpatterns += i18n_patterns(
    path("accounts/", include("shop.account_urls")),
    path("orders/", include("orders.urls")),
    # An order's invoices and credit notes, for its owner or its signed link (invoices.views).
    path("documents/", include("invoices.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("shop.urls")),
    prefix_default_language=False,
)

if not settings.MEDIA_ON_OBJECT_STORE:
    # Pictures on the file system (MEDIA_ROOT), served with DEBUG on or off (shop/media/serve.py);
    # on an object store pages link to the store's own URLs instead.
    from shop.media.serve import media_serve

    urlpatterns.insert(
        0, re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.+)$", media_serve, name="media")
    )
