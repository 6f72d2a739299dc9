"""Top-level URL routing."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = f"{settings.SHOP_NAME} administration"
admin.site.site_title = settings.SHOP_NAME
admin.site.index_title = "Shop administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("shop.account_urls")),
    path("orders/", include("orders.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("shop.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
