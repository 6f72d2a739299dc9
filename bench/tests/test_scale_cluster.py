"""`make scale-test`'s workers consume every queue the settings route to (load/scale/cluster.py)."""

from kombu import Exchange, Queue

from config.celery import app
from load.scale.cluster import celery_queues


def test_the_workers_consume_the_default_queue_the_declared_ones_and_every_routed_one(monkeypatch):
    # Given: a default queue, two declared queues, and routes to one of them and to one not declared
    monkeypatch.setitem(app.conf, "task_default_queue", "default")
    monkeypatch.setitem(
        app.conf, "task_queues", [Queue(n, Exchange(n), routing_key=n) for n in ("default", "mail")]
    )
    monkeypatch.setitem(
        app.conf,
        "task_routes",
        {
            "notifications.tasks.send_notification": {"queue": "mail"},
            "inventory.tasks.stock_arrived": {"queue": "stock"},
        },
    )

    assert celery_queues() == ["default", "mail", "stock"]


def test_with_no_routes_the_workers_consume_the_default_queue(monkeypatch):
    monkeypatch.setitem(app.conf, "task_default_queue", "load-1234")
    monkeypatch.setitem(app.conf, "task_queues", None)
    monkeypatch.setitem(app.conf, "task_routes", {})

    assert celery_queues() == ["load-1234"]
