"""The `DATABASES["default"]` dict, from DATABASE_URL and the pool mode (docs/operations.md, "Database connections").

A pure function, so each mode's dict is tested without reloading settings (config/tests/test_knobs.py).
"""

from django.core.exceptions import ImproperlyConfigured

POOL_MODES = ("", "psycopg", "pgbouncer")


def database_settings(
    *,
    parsed: dict,
    pool: str = "",
    conn_max_age: int = 60,
    pool_min_size: int = 2,
    pool_max_size: int = 4,
    pool_timeout: int = 10,
) -> dict:
    """`parsed` (django-environ's dict for DATABASE_URL) with the options of the pool mode.

    - SQLite: WAL and IMMEDIATE transactions; no pool mode.
    - PostgreSQL, `pool=""`: one connection per thread, kept `conn_max_age` seconds, checked before reuse.
    - `pool="psycopg"`: Django's psycopg pool in each process (`pool_min_size` to `pool_max_size`
      connections, a request waits up to `pool_timeout` seconds for one); no persistent connections,
      which Django refuses with a pool.
    - `pool="pgbouncer"` (transaction pooling): a connection per request or task, closed after it
      (`CONN_MAX_AGE=0`); no server-side cursors, which do not survive a transaction handed to another
      client, so `.iterator()` fetches its whole result at once.
    """
    if pool not in POOL_MODES:
        raise ImproperlyConfigured(
            f"DATABASE_POOL={pool!r}: use one of '' (none), 'psycopg' (Django's pool) or 'pgbouncer'."
        )
    db = {**parsed, "OPTIONS": dict(parsed.get("OPTIONS") or {})}
    if db["ENGINE"] == "django.db.backends.sqlite3":
        if pool:
            raise ImproperlyConfigured(f"DATABASE_POOL={pool!r} needs PostgreSQL; DATABASE_URL is SQLite.")
        # WAL lets readers work while one writer commits; IMMEDIATE takes the write
        # lock at BEGIN so two writers queue up instead of failing mid-transaction.
        db["OPTIONS"].update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
        return db
    if pool == "psycopg":
        if not 1 <= pool_min_size <= pool_max_size:
            raise ImproperlyConfigured(
                f"DATABASE_POOL_MIN_SIZE={pool_min_size} and DATABASE_POOL_MAX_SIZE={pool_max_size}: "
                "need 1 <= min <= max."
            )
        db["OPTIONS"]["pool"] = {
            "min_size": pool_min_size,
            "max_size": pool_max_size,
            "timeout": pool_timeout,
        }
        db["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
        # With a pool, health checks make Django's pool check each connection it hands out (one round
        # trip): after a database restart its dead connections are replaced, not handed to requests.
        db["CONN_HEALTH_CHECKS"] = True
        return db
    if pool == "pgbouncer":
        db["CONN_MAX_AGE"] = 0
        db["CONN_HEALTH_CHECKS"] = False
        db["DISABLE_SERVER_SIDE_CURSORS"] = True
        return db
    db["CONN_MAX_AGE"] = conn_max_age
    db["CONN_HEALTH_CHECKS"] = True
    return db
