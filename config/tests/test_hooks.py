"""config.hooks: receivers run after commit, in order, never after a rollback."""

import pytest
from django.db import transaction

from config.hooks import Hook


@pytest.fixture
def calls():
    return []


@pytest.mark.django_db(transaction=True)
def test_receivers_run_after_commit_in_connection_order(calls):
    hook = Hook("test.hook")
    hook.connect(lambda **kw: calls.append(("first", kw)))
    hook.connect(lambda **kw: calls.append(("second", kw)))

    with transaction.atomic():
        hook.send_on_commit(variant_ids=[3, 1])
        assert calls == []

    assert calls == [("first", {"variant_ids": [3, 1]}), ("second", {"variant_ids": [3, 1]})]


@pytest.mark.django_db(transaction=True)
def test_nothing_runs_when_the_transaction_rolls_back(calls):
    hook = Hook("test.hook")
    hook.connect(lambda **kw: calls.append(kw))

    with pytest.raises(RuntimeError), transaction.atomic():
        hook.send_on_commit(variant_ids=[1])
        raise RuntimeError("rolled back")

    assert calls == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_receivers_run_at_once(calls):
    hook = Hook("test.hook")
    hook.connect(lambda **kw: calls.append(kw))

    hook.send_on_commit(variant_ids=[7])

    assert calls == [{"variant_ids": [7]}]


def test_connecting_twice_keeps_one_receiver_and_disconnect_removes_it(calls):
    hook = Hook("test.hook")

    def receiver(**kw):
        calls.append(kw)

    hook.connect(receiver)
    hook.connect(receiver)
    assert hook.receivers == (receiver,)
    hook.send(x=1)
    assert calls == [{"x": 1}]

    hook.disconnect(receiver)
    hook.send(x=2)
    assert calls == [{"x": 1}]


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_propagates_in_eager_mode(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    hook = Hook("test.hook")

    def broken(**kw):
        raise ConnectionError("broker down")

    hook.connect(broken)
    with pytest.raises(ConnectionError):
        hook.send_on_commit(x=1)
