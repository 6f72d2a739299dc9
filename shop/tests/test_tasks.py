import time
import uuid

import pytest

from config.celery import app as celery_app
from shop.models import WorkerHeartbeat
from shop.tasks import worker_heartbeat


@pytest.mark.django_db
def test_heartbeat_task_records_worker_row():
    worker_heartbeat.apply()
    worker_heartbeat.apply()

    assert WorkerHeartbeat.objects.count() == 1  # one row per worker, updated in place


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_real_celery_worker_runs_task_through_redis(celery_worker_process):
    """A real worker process takes the message from Redis and writes to the test database."""
    queue = f"test-{uuid.uuid4().hex}"
    celery_worker_process(queue)

    # send_task always goes through the broker, even with eager test settings.
    celery_app.send_task("shop.tasks.worker_heartbeat", queue=queue)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
        time.sleep(0.2)
    beats = list(WorkerHeartbeat.objects.all())
    assert len(beats) == 1
    assert beats[0].worker.startswith("test-")
