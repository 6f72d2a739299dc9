"""The shop keeps working when Redis is unreachable: emails wait as rows, rate limits fail open."""

import pytest
from django.db import transaction

from config.cache import ResilientRedisCache
from config.celery import ShopTask
from shop.tasks import worker_heartbeat


@pytest.fixture
def not_eager():
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


@pytest.mark.django_db
def test_a_broker_outage_after_commit_is_logged_not_raised(
    not_eager, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("Redis is down")

    monkeypatch.setattr(worker_heartbeat, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        worker_heartbeat.delay_on_commit()

    assert isinstance(worker_heartbeat, ShopTask)
    assert "Redis is down" in caplog.text


def test_unreachable_redis_cache_degrades_to_misses():
    cache = ResilientRedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})

    assert cache.add("k", 1) is False
    assert cache.get("k", "fallback") == "fallback"
    assert cache.set("k", 2) is None
    with pytest.raises(ValueError):
        cache.incr("k")


@pytest.mark.django_db
def test_robust_hook_does_not_undo_the_commit(not_eager, monkeypatch, django_capture_on_commit_callbacks):
    from shop.models import WorkerHeartbeat
    from shop.services import heartbeat_record

    monkeypatch.setattr(
        worker_heartbeat, "delay", lambda *a, **k: (_ for _ in ()).throw(OSError("no broker"))
    )

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        heartbeat_record(worker="web")
        worker_heartbeat.delay_on_commit()

    assert WorkerHeartbeat.objects.filter(worker="web").count() == 1


def test_the_redis_cache_reuses_one_client_per_connection_pool():
    # Building a redis.Redis per call costs more CPU than a cache hit; one per pool is shared by
    # threads safely (commands take connections from the pool). Nothing connects here.
    cache = ResilientRedisCache("redis://127.0.0.1:1/0", {})

    reader, writer = cache._cache.get_client("k"), cache._cache.get_client("k", write=True)

    assert reader is writer  # one server: one pool, one client
    assert reader.connection_pool is cache._cache._get_connection_pool(False)
