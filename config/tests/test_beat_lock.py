"""Beat is safe to start twice: with the settings' Redis, two RedBeat schedulers share one lock, the
second schedules nothing while the first renews it, and takes over once the first stops renewing."""

import os
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from redbeat.schedulers import RedBeatConfig, RedBeatScheduler, acquire_distributed_beat_lock, get_redis

from config.tests.knobs import celery_app, settings_with

# exclusive: the takeover is asserted within half a second of the lock lapsing.
pytestmark = [pytest.mark.redis, pytest.mark.exclusive]

LOCK_TIMEOUT = 2  # seconds; the settings' BEAT_LOCK_TIMEOUT is 60, too long to wait out in a test


def _scheduler(app) -> RedBeatScheduler:
    # max_interval: how often a waiting scheduler tries the lock (beat's loop, 15 s in the settings).
    return RedBeatScheduler(app=app, lock_timeout=LOCK_TIMEOUT, max_interval=0.1, lazy=True)


def _acquire(scheduler: RedBeatScheduler) -> None:
    """What beat runs when it starts (the `beat_init` signal): blocks until the lock is taken."""
    acquire_distributed_beat_lock(sender=SimpleNamespace(scheduler=scheduler))


def test_a_second_beat_waits_for_the_lock_and_takes_over_when_the_first_stops(monkeypatch):
    # Given: the settings' beat configuration on this Redis, under a key prefix of this test
    app = celery_app(settings_with(monkeypatch, REDIS_URL=os.environ["REDIS_URL"]))
    assert app.conf.beat_scheduler == "redbeat.RedBeatScheduler"
    app.conf.redbeat_key_prefix = f"test-redbeat-{uuid.uuid4().hex}"
    first, second = _scheduler(app), _scheduler(app)
    _acquire(first)
    assert first.lock.owned()

    # When: a second beat starts (in its own thread: a redis-py lock's token is thread-local) while the
    # first renews its lock as its loop does, every 0.5 s here
    acquired: list[tuple[float, bool]] = []
    done = threading.Event()

    def second_beat() -> None:
        _acquire(second)
        acquired.append((time.monotonic(), second.lock.owned()))
        done.wait(10)
        second.close()  # releases the lock, as a beat that stops does

    waiter = threading.Thread(target=second_beat)
    waiter.start()
    try:
        for _ in range(6):  # 3 s: longer than the lock's timeout
            time.sleep(0.5)
            first.lock.extend(LOCK_TIMEOUT)
            # Then: the second holds nothing while the first renews
            assert (second.lock, acquired) == (None, [])

        # When: the first stops renewing (killed: it never releases)
        stopped_at = time.monotonic()
        deadline = stopped_at + LOCK_TIMEOUT + 3
        while not acquired and time.monotonic() < deadline:
            time.sleep(0.05)

        # Then: the second holds the lock once the first's lapses, LOCK_TIMEOUT s after the last renewal
        [(acquired_at, owned)] = acquired
        assert owned and not first.lock.owned()
        assert LOCK_TIMEOUT - 0.1 < acquired_at - stopped_at < LOCK_TIMEOUT + 0.5, acquired_at - stopped_at
    finally:
        done.set()
        waiter.join(timeout=LOCK_TIMEOUT + 5)
        client = get_redis(app)
        client.delete(*client.keys(f"{app.conf.redbeat_key_prefix}*") or ["-"])


def test_redbeat_reads_the_settings_without_falling_back_to_the_broker(monkeypatch, recwarn):
    app = celery_app(settings_with(monkeypatch, REDIS_URL=os.environ["REDIS_URL"], BEAT_LOCK_TIMEOUT="42"))

    conf = RedBeatConfig(app)

    assert (conf.redis_url, conf.lock_timeout, conf.lock_key) == (
        os.environ["REDIS_URL"],
        42,
        "redbeat::lock",
    )
    assert conf.redbeat_redis_options == {"socket_connect_timeout": 2, "socket_timeout": 5}
    assert [str(w.message) for w in recwarn if "RedBeat" in str(w.message)] == []
