"""Account pages: Django's auth views (same URL names as django.contrib.auth.urls), sign-up, and the
accounts app's pages (accounts/urls.py: email verification)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.account, name="account"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path(
        "password_reset/",
        # Throttled (shop.views); the email is sent by the worker (shop.tasks.send_password_reset).
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("password_reset/done/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # Email verification (and what other account features the accounts app adds), namespace "accounts".
    path("", include("accounts.urls")),
]
