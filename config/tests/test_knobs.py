"""The production knobs of issue 19 (README settings table): each environment variable changes what it
says, read by Celery, Django or redis-py themselves rather than only as a setting's value."""

import os
import uuid

import pytest
import redis
from django.core.cache import CacheHandler
from django.core.exceptions import ImproperlyConfigured
from kombu import Connection

from config.tests.knobs import celery_app, settings_with

# --- broker and cache -------------------------------------------------------------------------------


def test_broker_cache_and_beat_lock_all_use_redis_url_by_default(monkeypatch):
    settings = settings_with(monkeypatch, REDIS_URL="redis://one:6379/3")

    app = celery_app(settings)
    assert app.conf.broker_url == "redis://one:6379/3"
    assert settings["CACHES"]["default"]["LOCATION"] == "redis://one:6379/3"
    assert app.conf.beat_scheduler == "redbeat.RedBeatScheduler"
    assert app.conf.redbeat_redis_url == "redis://one:6379/3"


def test_broker_and_cache_urls_split_them(monkeypatch):
    settings = settings_with(
        monkeypatch,
        REDIS_URL="redis://one:6379/0",
        CELERY_BROKER_URL="redis://broker:6379/1",
        CACHE_REDIS_URL="redis://cache:6379/2",
    )

    app = celery_app(settings)
    assert app.conf.broker_url == "redis://broker:6379/1"
    assert (
        app.conf.redbeat_redis_url == "redis://broker:6379/1"
    )  # the lock lives with the broker (noeviction)
    assert settings["CACHES"]["default"] == {
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": "redis://cache:6379/2",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }


def test_a_cache_on_redis_leaves_the_broker_and_beat_on_files(monkeypatch):
    settings = settings_with(monkeypatch, CACHE_REDIS_URL="redis://cache:6379/2")

    app = celery_app(settings)
    assert app.conf.broker_url == "filesystem://localhost//"
    assert app.conf.beat_scheduler == "celery.beat:PersistentScheduler"
    assert settings["CACHES"]["default"]["LOCATION"] == "redis://cache:6379/2"


@pytest.mark.redis
def test_split_urls_put_messages_and_cache_keys_in_different_redis_databases(monkeypatch):
    # Given: the broker on one Redis database and the cache on another
    base = redis.Redis.from_url(os.environ["REDIS_URL"])
    db = base.connection_pool.connection_kwargs.get("db", 0)
    host = base.connection_pool.connection_kwargs["host"]
    port = base.connection_pool.connection_kwargs["port"]
    broker_url, cache_url = f"redis://{host}:{port}/{db}", f"redis://{host}:{port}/{(db + 1) % 16}"
    settings = settings_with(monkeypatch, CELERY_BROKER_URL=broker_url, CACHE_REDIS_URL=cache_url)
    broker, cache_db = redis.Redis.from_url(broker_url), redis.Redis.from_url(cache_url)
    name = f"knobs-{uuid.uuid4().hex}"

    # When: a message is published with the broker settings and a value cached with the cache settings
    with Connection(settings["CELERY_BROKER_URL"]) as connection:
        queue = connection.SimpleQueue(name)
        queue.put({"hello": 1})
        queue.close()
    cache = CacheHandler(settings["CACHES"])["default"]
    cache.set(name, 1, 60)
    key = cache.make_key(name)

    try:
        # Then: each landed in its own database only
        assert (broker.llen(name), cache_db.llen(name)) == (1, 0)
        assert (cache_db.exists(key), broker.exists(key)) == (1, 0)
    finally:
        broker.delete(name)
        cache_db.delete(key)


# --- queues ---------------------------------------------------------------------------------------

ROUTES = {
    "notifications.tasks.send_notification": "mail",
    "notifications.tasks.send_notifications": "mail",
    "shop.tasks.send_password_reset": "mail",
    "inventory.tasks.stock_arrived": "stock",
    "inventory.tasks.sweep_allocation_requests": "stock",
    "inventory.tasks.send_supplier_reminders": "stock",
    "notifications.tasks.dispatch_notifications": "default",  # the batches it publishes go to mail
    "notifications.tasks.sweep_notifications": "default",
    "orders.tasks.check_delays": "default",
    "orders.tasks.prune_old_data": "default",
    "shop.tasks.worker_heartbeat": "default",
}


def test_each_task_goes_to_its_familys_queue_and_a_worker_without_q_consumes_all_three(monkeypatch):
    app = celery_app(settings_with(monkeypatch))

    assert {name: app.amqp.router.route({}, name)["queue"].name for name in ROUTES} == ROUTES
    assert set(app.amqp.queues) == {"default", "mail", "stock"}


def test_routes_off_send_every_task_to_the_default_queue(monkeypatch):
    app = celery_app(settings_with(monkeypatch, CELERY_ROUTE_QUEUES="0", CELERY_TASK_DEFAULT_QUEUE="private"))

    assert {app.amqp.router.route({}, name)["queue"].name for name in ROUTES} == {"private"}
    assert set(app.amqp.queues) == {"private"}


def test_the_families_name_registered_tasks_and_stock_holds_every_inventory_task(monkeypatch):
    from config.celery import app as shop_app

    shop_app.loader.import_default_modules()
    families = settings_with(monkeypatch)["TASK_FAMILIES"]

    assert {name for names in families.values() for name in names} <= set(shop_app.tasks)
    assert set(families["stock"]) == {name for name in shop_app.tasks if name.startswith("inventory.tasks.")}


# --- time limits and memory -----------------------------------------------------------------------


def test_time_limits_per_family_reach_the_tasks(monkeypatch):
    app = celery_app(
        settings_with(
            monkeypatch,
            CELERY_MAIL_SOFT_TIME_LIMIT="11",
            CELERY_MAIL_TIME_LIMIT="12",
            CELERY_STOCK_SOFT_TIME_LIMIT="21",
            CELERY_STOCK_TIME_LIMIT="22",
            CELERY_TASK_SOFT_TIME_LIMIT="31",
            CELERY_TASK_TIME_LIMIT="32",
        )
    )

    import inventory.tasks  # noqa: F401  (shared tasks: every app gets them, this one included)
    import notifications.tasks  # noqa: F401
    import orders.tasks  # noqa: F401

    app.finalize(auto=True)
    mail = app.tasks["notifications.tasks.send_notifications"]
    stock = app.tasks["inventory.tasks.stock_arrived"]
    other = app.tasks["orders.tasks.scan_delays"]

    # The families' annotations win over the app-wide limits, which every other task gets.
    assert (mail.soft_time_limit, mail.time_limit) == (11, 12)
    assert (stock.soft_time_limit, stock.time_limit) == (21, 22)
    assert (other.soft_time_limit, other.time_limit) == (31, 32)


def test_the_default_time_limits(monkeypatch):
    settings = settings_with(monkeypatch)

    assert settings["TASK_TIME_LIMITS"] == {"mail": (240, 300), "stock": (1500, 1800)}
    assert (settings["CELERY_TASK_SOFT_TIME_LIMIT"], settings["CELERY_TASK_TIME_LIMIT"]) == (900, 1200)


@pytest.mark.parametrize(
    "env",
    [
        {"CELERY_MAIL_SOFT_TIME_LIMIT": "300"},  # not below the hard limit (300)
        {"CELERY_STOCK_TIME_LIMIT": "4000"},  # past the visibility timeout
        {"CELERY_TASK_SOFT_TIME_LIMIT": "0"},
    ],
)
def test_time_limits_that_cannot_work_stop_the_process(monkeypatch, env):
    with pytest.raises(ImproperlyConfigured, match="soft time limit"):
        settings_with(monkeypatch, **env)


def test_memory_and_task_recycling_reach_the_worker(monkeypatch):
    settings = settings_with(
        monkeypatch, CELERY_WORKER_MAX_MEMORY_PER_CHILD="150000", CELERY_WORKER_MAX_TASKS_PER_CHILD="500"
    )
    app = celery_app(settings)
    app.conf.broker_url = "memory://"

    worker = app.WorkController(hostname="knobs@test", pool_cls="solo")

    assert (worker.max_memory_per_child, worker.max_tasks_per_child) == (150000, 500)
    unset = celery_app(settings_with(monkeypatch))
    unset.conf.broker_url = "memory://"
    plain = unset.WorkController(hostname="knobs@plain", pool_cls="solo")
    assert (plain.max_memory_per_child, plain.max_tasks_per_child) == (None, None)


# --- beat -----------------------------------------------------------------------------------------


def test_beat_lock_timeout(monkeypatch):
    app = celery_app(settings_with(monkeypatch, REDIS_URL="redis://one:6379/0", BEAT_LOCK_TIMEOUT="42"))

    assert (app.conf.redbeat_lock_timeout, app.conf.beat_max_loop_interval) == (42, 15)
    with pytest.raises(ImproperlyConfigured, match="BEAT_LOCK_TIMEOUT=15"):
        settings_with(monkeypatch, REDIS_URL="redis://one:6379/0", BEAT_LOCK_TIMEOUT="15")


# --- data retention -------------------------------------------------------------------------------


def test_retention_knobs(monkeypatch):
    settings = settings_with(
        monkeypatch, NOTIFICATION_RETENTION_DAYS="7", CART_RETENTION_DAYS="8", DATA_RETENTION_HOUR="5"
    )

    assert (settings["NOTIFICATION_RETENTION_DAYS"], settings["CART_RETENTION_DAYS"]) == (7, 8)
    schedule = settings["CELERY_BEAT_SCHEDULE"]["data-retention"]["schedule"]
    assert (schedule.hour, schedule.minute) == ({5}, {15})
