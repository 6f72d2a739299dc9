"""The outbox's one bulk insert (`notifications_insert`): dedupe, ids, columns, cursor, one statement."""

import pytest
from django.db import connection, connections

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import notifications_insert
from notifications.tests.factories import NotificationFactory


def row(key, recipient="ada@example.com", **context):
    return {
        "kind": NotificationKind.LOW_STOCK_ALERT,
        "recipient": recipient,
        "dedupe_key": key,
        "context": context,
    }


@pytest.mark.django_db
def test_a_duplicate_key_is_inserted_once_and_only_new_ids_come_back(django_capture_on_commit_callbacks):
    existing = NotificationFactory(dedupe_key="k:old")

    with django_capture_on_commit_callbacks() as callbacks:
        ids = notifications_insert(
            rows=[
                row("k:1", "ada@example.com", variant_id=1),
                row("k:old", "someone@example.com"),
                row("k:2", "bob@example.com", variant_id=2),
                row("k:1", "eve@example.com", variant_id=3),  # again in the same batch: the first wins
            ]
        )

    created = Notification.objects.filter(pk__in=ids)
    assert ids == sorted(ids) and len(ids) == 2 and existing.pk not in ids
    # Ids follow the order of the rows.
    assert [(n.dedupe_key, n.recipient, n.context) for n in created.order_by("pk")] == [
        ("k:1", "ada@example.com", {"variant_id": 1}),
        ("k:2", "bob@example.com", {"variant_id": 2}),
    ]
    assert Notification.objects.count() == 3
    assert Notification.objects.get(pk=existing.pk).recipient == existing.recipient  # untouched
    assert len(callbacks) == 1  # one send message after commit

    assert notifications_insert(rows=[row("k:1"), row("k:2")]) == []  # repeating a batch creates nothing


@pytest.mark.django_db
def test_new_rows_get_every_column_as_the_model_would_give_it():
    orm = Notification.objects.create(
        kind=NotificationKind.LOW_STOCK_ALERT, recipient="a@example.com", dedupe_key="orm", context={"x": 1}
    )

    [pk] = notifications_insert(rows=[row("bulk", "a@example.com", x=1)], enqueue=False)

    bulk = Notification.objects.get(pk=pk)
    for field in Notification._meta.concrete_fields:
        if field.name not in ("id", "dedupe_key", "created_at"):
            assert getattr(bulk, field.name) == getattr(orm, field.name), field.name
    assert bulk.status == NotificationStatus.PENDING and bulk.attempts == 0 and bulk.last_error == ""
    assert bulk.created_at is not None and bulk.sent_at is None


@pytest.mark.django_db
def test_nothing_to_insert_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert notifications_insert(rows=[]) == []


@pytest.mark.django_db
def test_without_enqueue_nothing_is_published(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ids = notifications_insert(rows=[row("k:1"), row("k:2")], enqueue=False)

    assert len(ids) == 2
    assert callbacks == []


@pytest.mark.django_db
def test_it_writes_on_the_cursor_it_is_given():
    with connection.cursor() as cursor:
        ids = notifications_insert(rows=[row("k:1"), row("k:1"), row("k:2")], cursor=cursor, enqueue=False)

    assert sorted(Notification.objects.values_list("pk", flat=True)) == ids
    assert len(ids) == 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_any_number_of_rows_is_one_insert_statement_on_postgresql(django_assert_num_queries):
    rows = [row(f"k:{n}", f"fan{n}@example.com", n=n) for n in range(2500)]

    with django_assert_num_queries(1) as captured:
        ids = notifications_insert(rows=rows, enqueue=False)

    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("INSERT INTO")
    assert len(ids) == 2500
    assert list(Notification.objects.order_by("pk").values_list("dedupe_key", flat=True)) == [
        f"k:{n}" for n in range(2500)
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_connection_writes_with_its_own_cursor_on_postgresql():
    """The allocation pass's follow-up writes its emails on a connection of its own."""
    NotificationFactory(dedupe_key="k:old")
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            ids = notifications_insert(rows=[row("k:old"), row("k:new")], cursor=cursor, enqueue=False)
        assert not Notification.objects.filter(pk__in=ids).exists()  # not committed yet
        other.commit()
    finally:
        other.close()

    assert len(ids) == 1
    assert Notification.objects.get(pk=ids[0]).dedupe_key == "k:new"
