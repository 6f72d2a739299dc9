"""The upgrade from Django's built-in auth.User (docs/accounts.md, "Upgrading"): a database migrated
and filled under the old settings (config/tests/settings_legacy_user.py) keeps its users, passwords,
groups and orders when `accounts_adopt` and `migrate` run with the real settings; accounts.0002 refuses
(changing nothing) while an email is missing or shared. Each run has a database of its own: a SQLite
file, or a throwaway database on the PostgreSQL server of the run."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

WRITE_LEGACY_ROWS = """
import json
from django.contrib.auth.models import Group, User
from django.utils import timezone
from orders.models import Order

group, _ = Group.objects.get_or_create(name="Warehouse")
lead = User.objects.create_user("lead", "lead@example.com", "staff-pw", is_staff=True)
lead.groups.add(group)
ann = User.objects.create_user("ann", "Ann@Example.com", "ann-pw", first_name="Ann")
bob = User.objects.create_user("bob", "bob@example.com", "bob-pw")
nomail = User.objects.create_user("nomail", "", "x")
twin = User.objects.create_user("twin", "BOB@example.com", "x")
order = Order.objects.create(number="A-1", email="ann@example.com", user=ann, placed_at=timezone.now())
print(json.dumps({
    "lead": lead.pk, "ann": ann.pk, "bob": bob.pk, "nomail": nomail.pk, "twin": twin.pk, "order": order.pk,
    "group": group.pk,
}))
"""

FIX_LEGACY_ROWS = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("UPDATE auth_user SET email = 'nomail@example.com' WHERE username = 'nomail'")
    cursor.execute("DELETE FROM auth_user WHERE username = 'twin'")
"""

READ_ADOPTED_ROWS = """
import json
from django.contrib.auth import authenticate, get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from orders.models import Order

setup_test_environment()
User = get_user_model()
users = {
    u.pk: {"email": u.email, "groups": sorted(u.groups.values_list("name", flat=True)), "staff": u.is_staff,
           "verified": u.email_verified_at, "language": u.language, "first_name": u.first_name}
    for u in User.objects.order_by("pk")
}
order = Order.objects.select_related("user").get(number="A-1")
ann = authenticate(username="ANN@example.com", password="ann-pw")
client = Client()
response = client.post(reverse("login"), {"username": "ann@EXAMPLE.com", "password": "ann-pw"})
with connection.cursor() as cursor:
    tables = connection.introspection.table_names(cursor)
print(json.dumps({
    "users": {str(pk): row for pk, row in users.items()},
    "passwords": [User.objects.get(email__iexact=e).check_password(p)
                  for e, p in [("lead@example.com", "staff-pw"), ("ann@example.com", "ann-pw"), ("bob@example.com", "bob-pw")]],
    "order_user": order.user.pk,
    "authenticated": ann.pk if ann else None,
    "login_status": response.status_code,
    "session_user": client.session.get("_auth_user_id"),
    "tables": sorted(t for t in tables if t.startswith(("auth_user", "accounts_user"))),
}))
"""


def _run(args: list[str], *, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if check:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def _shell(code: str, *, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    return _run(["manage.py", "shell", "-c", code], env=env, check=check)


def _last_json(done: subprocess.CompletedProcess) -> dict:
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def sqlite_url(tmp_path):
    yield f"sqlite:///{tmp_path / 'legacy.sqlite3'}"


@pytest.fixture
def postgres_url():
    import psycopg

    db = settings.DATABASES["default"]
    name = f"{db['NAME']}_adopt_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server = {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "user": db["USER"],
        "password": db["PASSWORD"],
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    yield f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Each migrates whole databases in subprocesses (about 20 s): the SQLite ones run in the suite's SQLite
# run only, where they add nothing to the PostgreSQL run's time (CI runs the suite on both).
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
sqlite_run_only = pytest.mark.skipif(ON_POSTGRES, reason="SQLite's migration path: tested in the SQLite run")


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=sqlite_run_only),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request):
    return request.getfixturevalue(f"{request.param}_url")


def test_a_database_of_auth_users_is_adopted_by_email(database_url):
    base = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": ""}
    legacy = {**base, "DJANGO_SETTINGS_MODULE": "config.tests.settings_legacy_user"}
    current = {**base, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    # Given: a shop migrated and used with Django's built-in user model
    # (--skip-checks: the checks load today's URLs, whose views import accounts, not installed here)
    _run(["manage.py", "migrate", "--noinput", "--skip-checks"], env=legacy)
    ids = _last_json(_shell(WRITE_LEGACY_ROWS, env=legacy))

    # When: the release runs accounts_adopt and migrate, with one user without email and two sharing one
    adopt = _run(["manage.py", "accounts_adopt"], env=current)
    refused = _run(["manage.py", "migrate", "--noinput"], env=current, check=False)

    # Then: migrate stops at accounts.0002 naming the rows to fix, and has changed nothing
    assert adopt.stdout.startswith("Adopted auth_user: recorded accounts.0001_initial as applied.")
    assert refused.returncode == 1
    assert f"user id={ids['nomail']} username='nomail': no email address" in refused.stderr
    assert (
        f"'bob@example.com' is shared by id={ids['bob']} username='bob' email='bob@example.com', "
        f"id={ids['twin']} username='twin' email='BOB@example.com'"
    ) in refused.stderr
    still = _shell(
        "from django.db import connection\n"
        "from django.db.migrations.recorder import MigrationRecorder\n"
        "with connection.cursor() as c:\n"
        "    cols = [d.name for d in connection.introspection.get_table_description(c, 'auth_user')]\n"
        "print(('accounts', '0002_email_login') in MigrationRecorder(connection).applied_migrations(), 'username' in cols)",
        env=current,
    )
    assert still.stdout.strip().splitlines()[-1] == "False True"

    # When: the rows are fixed and the release runs again (accounts_adopt is a no-op the second time)
    _shell(FIX_LEGACY_ROWS, env=current)
    again = _run(["manage.py", "accounts_adopt"], env=current)
    _run(["manage.py", "migrate", "--noinput"], env=current)
    after = _last_json(_shell(READ_ADOPTED_ROWS, env=current))

    # Then: the same users with the same keys, passwords, groups and orders log in by email
    assert again.stdout.strip() == "Nothing to adopt: accounts' migrations are recorded already."
    expected = {
        ids["lead"]: ("lead@example.com", ["Warehouse"], True, ""),
        ids["ann"]: ("Ann@example.com", [], False, "Ann"),  # auth.User lower-cased the domain
        ids["bob"]: ("bob@example.com", [], False, ""),
        ids["nomail"]: ("nomail@example.com", [], False, ""),
    }
    assert {
        int(pk): (row["email"], row["groups"], row["staff"], row["first_name"])
        for pk, row in after["users"].items()
    } == expected
    assert {(row["verified"], row["language"]) for row in after["users"].values()} == {(None, "")}
    assert after["passwords"] == [True, True, True]
    assert after["order_user"] == ids["ann"]
    assert after["authenticated"] == ids["ann"]
    assert (after["login_status"], after["session_user"]) == (302, str(ids["ann"]))
    assert after["tables"] == ["accounts_user", "accounts_user_groups", "accounts_user_user_permissions"]


@sqlite_run_only
def test_adopt_does_nothing_on_a_new_database(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}", "REDIS_URL": ""}
    env["DJANGO_SETTINGS_MODULE"] = "config.test_settings"

    before = _run(["manage.py", "accounts_adopt"], env=env)
    _run(["manage.py", "migrate", "--noinput"], env=env)
    after = _run(["manage.py", "accounts_adopt"], env=env)

    assert before.stdout.strip() == "Nothing to adopt: the database has no migrations yet."
    assert after.stdout.strip() == "Nothing to adopt: accounts' migrations are recorded already."
