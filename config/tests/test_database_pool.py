"""DATABASE_POOL (config/database.py): the DATABASES dict of each mode, read from the environment, and on
PostgreSQL what Django does with it (a pool per process; no server-side cursors behind PgBouncer)."""

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.database import database_settings
from config.tests.knobs import settings_with
from conftest import database_url_for_subprocess

POSTGRES = {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "HOST": "db", "PORT": 5432}
SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/db.sqlite3"}


def test_no_pool_keeps_a_connection_per_thread_with_health_checks():
    db = database_settings(parsed=POSTGRES, conn_max_age=45)

    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"], db["OPTIONS"]) == (45, True, {})
    assert "DISABLE_SERVER_SIDE_CURSORS" not in db


def test_psycopg_pool_options_and_no_persistent_connections():
    db = database_settings(parsed=POSTGRES, pool="psycopg", pool_min_size=3, pool_max_size=9, pool_timeout=7)

    assert db["OPTIONS"]["pool"] == {"min_size": 3, "max_size": 9, "timeout": 7}
    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]) == (0, True)


def test_pgbouncer_closes_connections_and_disables_server_side_cursors():
    db = database_settings(parsed=POSTGRES, pool="pgbouncer", conn_max_age=60)

    assert (db["CONN_MAX_AGE"], db["DISABLE_SERVER_SIDE_CURSORS"], db["OPTIONS"]) == (0, True, {})


def test_sqlite_gets_wal_and_immediate_transactions():
    db = database_settings(parsed=SQLITE)

    assert db["OPTIONS"] == {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }


@pytest.mark.parametrize(
    ("parsed", "kwargs", "message"),
    [
        (POSTGRES, {"pool": "pgpool"}, "DATABASE_POOL='pgpool': use one of"),
        (SQLITE, {"pool": "psycopg"}, "needs PostgreSQL"),
        (POSTGRES, {"pool": "psycopg", "pool_min_size": 5, "pool_max_size": 4}, "need 1 <= min <= max"),
    ],
)
def test_a_mode_that_cannot_work_stops_the_process_with_a_message(parsed, kwargs, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_settings(parsed=parsed, **kwargs)


def test_the_environment_chooses_the_mode(monkeypatch):
    settings = settings_with(
        monkeypatch,
        DATABASE_URL="postgres://shop@db:5432/shop",
        DATABASE_POOL="psycopg",
        DATABASE_POOL_MIN_SIZE="3",
        DATABASE_POOL_MAX_SIZE="6",
        DATABASE_POOL_TIMEOUT="4",
    )
    pool = settings["DATABASES"]["default"]["OPTIONS"]["pool"]
    assert (pool["min_size"], pool["max_size"], pool["timeout"]) == (3, 6, 4)

    bouncer = settings_with(
        monkeypatch, DATABASE_URL="postgres://shop@db:6432/shop", DATABASE_POOL="pgbouncer"
    )
    assert bouncer["DATABASES"]["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True

    plain = settings_with(monkeypatch, DATABASE_URL="postgres://shop@db:5432/shop", CONN_MAX_AGE="15")
    assert plain["DATABASES"]["default"]["CONN_MAX_AGE"] == 15


# What a process started with DATABASE_POOL=<mode> does with its connection: the pool's sizes and
# how many cursors a `.iterator()` holds open on the server while it reads.
PROBE = """
import json, django
django.setup()
from django.db import connection, transaction
pool = connection.pool
size = None
if pool is not None:
    pool.open(wait=True, timeout=10)  # what Django's first query does, waiting for min_size connections
    size = pool.get_stats()["pool_size"]
from django.contrib.contenttypes.models import ContentType
with transaction.atomic():
    rows = ContentType.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=1)
    first = next(rows)
    with connection.cursor() as cursor:  # the cursors this session holds open on the server
        cursor.execute("SELECT count(*) FROM pg_cursors")
        [server_cursors] = cursor.fetchone()
    rest = list(rows)
print(json.dumps({
    "pool": None if pool is None else [pool.min_size, pool.max_size, size],
    "rows": len(rest) + 1 == ContentType.objects.count() and first > 0,
    "server_side_cursors": server_cursors,
    "conn_max_age": connection.settings_dict["CONN_MAX_AGE"],
}))
"""


def _probe(mode: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url_for_subprocess(),
        "DATABASE_POOL": mode,
        "DATABASE_POOL_MIN_SIZE": "2",
        "DATABASE_POOL_MAX_SIZE": "3",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_each_mode_takes_effect_in_a_process_started_with_it():
    assert _probe("") == {"pool": None, "rows": True, "server_side_cursors": 1, "conn_max_age": 60}
    assert _probe("psycopg") == {"pool": [2, 3, 2], "rows": True, "server_side_cursors": 1, "conn_max_age": 0}
    # Behind PgBouncer a transaction may not keep its server-side cursor: .iterator() reads all at once.
    assert _probe("pgbouncer") == {"pool": None, "rows": True, "server_side_cursors": 0, "conn_max_age": 0}
