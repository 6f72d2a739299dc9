"""`manage.py accounts_adopt`: let accounts.User take over the rows of Django's built-in auth.User.

Run it before `migrate` on every deployed database (Procfile `release`, docs/deploy.md). On a database
made while AUTH_USER_MODEL was auth.User (an `auth_user` table with auth.User's columns, and no
accounts migration recorded) it records accounts.0001_initial as applied: that migration describes the
very same table, and without the record `migrate` stops with InconsistentMigrationHistory (the other
apps' applied migrations depend on the user model's first migration). Then `migrate` runs
accounts.0002, which turns the rows into email accounts. Anywhere else it does nothing: an empty
database, or one that has adopted already.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder

ADOPTED = ("accounts", "0001_initial")
LEGACY_TABLE = "auth_user"
# auth.User's columns (Django 3.1 to 5.2), which accounts.0001_initial creates too.
LEGACY_COLUMNS = {
    "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
    "is_staff", "is_active", "date_joined",
}  # fmt: skip


def accounts_adopt(*, database: str = DEFAULT_DB_ALIAS) -> str:
    """Record accounts.0001_initial as applied where auth.User's table is to be adopted; say what was done."""
    connection = connections[database]
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return "Nothing to adopt: the database has no migrations yet."
    applied = recorder.applied_migrations()
    if any(app == "accounts" for app, _name in applied):
        return "Nothing to adopt: accounts' migrations are recorded already."
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if LEGACY_TABLE not in tables:
            return f"Nothing to adopt: no {LEGACY_TABLE} table."
        columns = {c.name for c in connection.introspection.get_table_description(cursor, LEGACY_TABLE)}
    if columns != LEGACY_COLUMNS:
        raise CommandError(
            f"{LEGACY_TABLE} does not have auth.User's columns, so accounts.0001_initial cannot adopt it: "
            f"missing {sorted(LEGACY_COLUMNS - columns)}, unexpected {sorted(columns - LEGACY_COLUMNS)}."
        )
    if ("auth", "0012_alter_user_first_name_max_length") not in applied:
        raise CommandError(
            "auth's migrations are not all applied (0012 is missing): migrate this database with the "
            "previous release first, then run accounts_adopt again."
        )
    recorder.record_applied(*ADOPTED)
    return (
        f"Adopted {LEGACY_TABLE}: recorded accounts.0001_initial as applied. "
        "`manage.py migrate` now turns its users into email accounts (accounts.0002)."
    )


class Command(BaseCommand):
    help = (
        "Before `migrate`: on a database made with Django's built-in auth.User, record accounts.0001_initial "
        "as applied so that accounts.User adopts its rows. Does nothing anywhere else; safe to run every deploy."
    )
    # Runs before migrate on a database the new code does not match yet.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="The database to adopt (default: default)."
        )

    def handle(self, *args, database: str, **options) -> None:
        self.stdout.write(accounts_adopt(database=database))
