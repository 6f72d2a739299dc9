"""The accounts app's pages, under /accounts/ (included by shop/account_urls.py)."""

from django.urls import path

from . import views, views_addresses, views_data

app_name = "accounts"

urlpatterns = [
    # Saved addresses, "Download my data", deleting the account (docs/accounts.md).
    path("addresses/", views_addresses.addresses, name="addresses"),
    path("addresses/add/", views_addresses.address_add, name="address_add"),
    path("addresses/<int:pk>/edit/", views_addresses.address_edit, name="address_edit"),
    path("addresses/<int:pk>/delete/", views_addresses.address_remove, name="address_delete"),
    path("addresses/<int:pk>/default/", views_addresses.address_make_default, name="address_default"),
    path("my-data/", views_data.data_export, name="export"),
    path("delete/", views_data.account_delete_page, name="delete"),
    path("verify/resend/", views.verify_email_resend, name="verify_email_resend"),
    path("verify/<str:token>/", views.verify_email, name="verify_email"),
]
