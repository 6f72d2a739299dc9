from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Customer and staff accounts: the user model, with the email address as the login."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # The "account deleted" email is rendered by the outbox; tell it how to build its context.
        from .deletion_email import register as register_deletion_email

        register_deletion_email()
        # The "confirm your email address" email is rendered by the outbox; tell it how.
        from .emails import register

        register()
