"""From auth.User's columns to email accounts: no username, the email unique whatever its case, the
verification time and the language; the table becomes accounts_user.

Refuses (and changes nothing) while any user has no email or two users share one case-insensitively:
the message lists the rows to fix first (docs/accounts.md).
"""

from django.db import migrations, models
from django.db.models.functions import Lower


class EmailsNotReady(Exception):
    """Some users cannot log in by email yet; the message says which."""


def _check_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    users = User.objects.using(schema_editor.connection.alias)
    problems = [
        f"  user id={pk} username={username!r}: no email address"
        for pk, username in users.filter(email__regex=r"^\s*$").order_by("pk").values_list("pk", "username")
    ]
    by_email: dict[str, list[tuple[int, str, str]]] = {}
    for pk, username, email in (
        users.exclude(email__regex=r"^\s*$").order_by("pk").values_list("pk", "username", "email")
    ):
        by_email.setdefault(email.strip().lower(), []).append((pk, username, email))
    for email, rows in sorted(by_email.items()):
        if len(rows) > 1:
            owners = ", ".join(
                f"id={pk} username={username!r} email={address!r}" for pk, username, address in rows
            )
            problems.append(f"  {email!r} is shared by {owners}")
    if problems:
        raise EmailsNotReady(
            "accounts.0002 stopped, nothing was changed: every user needs an email address of their own "
            "(the login is the email now). Fix these rows (e.g. in the admin or `manage.py shell`), then "
            "run `manage.py migrate` again:\n" + "\n".join(problems)
        )
    for user in users.exclude(email__regex=r"^\S.*\S$|^\S$").only("pk", "email"):
        users.filter(pk=user.pk).update(email=user.email.strip())


def _move_content_type(apps, schema_editor):
    """Permissions given on auth's "user" (groups holding change_user, say) now belong to accounts.User:
    the content type row moves, unless the new one exists already (a fresh database)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    if not types.filter(app_label="accounts", model="user").exists():
        types.filter(app_label="auth", model="user").update(app_label="accounts")


def _move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    if not types.filter(app_label="auth", model="user").exists():
        types.filter(app_label="accounts", model="user").update(app_label="auth")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(_check_emails, migrations.RunPython.noop),
        migrations.RunPython(_move_content_type, _move_content_type_back),
        migrations.RemoveField(model_name="user", name="username"),
        migrations.AlterField(
            model_name="user",
            name="email",
            field=models.EmailField(
                error_messages={"unique": "An account with this email address already exists."},
                max_length=254,
                unique=True,
                verbose_name="email address",
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="is_staff",
            field=models.BooleanField(
                default=False,
                help_text="Whether the user can log into the admin site.",
                verbose_name="staff status",
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="is_active",
            field=models.BooleanField(
                default=True,
                help_text="Unselect this instead of deleting accounts: an inactive user cannot log in.",
                verbose_name="active",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the customer opened the confirmation link; empty: not confirmed yet.",
                null=True,
                verbose_name="email verified at",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="language",
            field=models.CharField(
                blank=True,
                help_text="The language of the shop's emails to this user (empty: English).",
                max_length=10,
                verbose_name="language",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message="An account with this email address already exists.",
            ),
        ),
        migrations.AlterModelTable(name="user", table=None),
    ]
