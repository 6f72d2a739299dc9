"""The accounts app's pages, under /accounts/ (included by shop/account_urls.py)."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("verify/resend/", views.verify_email_resend, name="verify_email_resend"),
    path("verify/<str:token>/", views.verify_email, name="verify_email"),
]
