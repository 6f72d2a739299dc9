"""`make scale-test`'s books (load/scale/report.py): which failures the kill explains, emails, targets.

The run itself takes minutes and needs nginx, PostgreSQL and Redis (load/README.md, "Scale test");
these check its accounting with exact inputs.
"""

import pytest

from load.scale.report import (
    KILL_SLACK_SECONDS,
    EmailBooks,
    FailureBooks,
    cut_off_at_kill,
    email_books,
    exit_code,
    failure_books,
    figures,
    tasks_finished,
)

A, B = "127.0.0.1:8001", "127.0.0.1:8002"
KILL = 1000.0


def _entry(*, end: float, took: float, status: int, upstream: str, method: str = "GET") -> dict:
    return {
        "msec": end,
        "request_time": took,
        "method": method,
        "uri": "/",
        "status": status,
        "upstream": upstream,
    }


def test_a_502_is_the_kills_only_when_the_killed_node_held_the_request_at_the_kill():
    # Given: nginx's log around a SIGKILL of node B at t=1000
    log = [
        _entry(end=990.0, took=0.2, status=200, upstream=A),
        _entry(end=995.0, took=0.3, status=200, upstream=B),
        # in flight on B: started before the kill, ended (with 502) after it
        _entry(end=1000.4, took=1.0, status=502, upstream=B, method="POST"),
        # reached B within the slack after the kill (the dying node's socket still accepted it)
        _entry(end=1000.9, took=0.2, status=502, upstream=B, method="POST"),
        # B was sending this answer when it died: nginx logs the status it had passed on
        _entry(end=1000.3, took=0.5, status=200, upstream=B),
        # B refused, nginx passed the GET on to A: answered by A, not a failure
        _entry(end=1003.0, took=0.1, status=200, upstream=f"{B}, {A}"),
        _entry(end=1004.0, took=0.1, status=200, upstream=A),
        # not the kill's: a 500 from the survivor (even after B refused), a 502 on B before the
        # kill, one long after it
        _entry(end=1005.0, took=0.1, status=500, upstream=A),
        _entry(end=1000.5, took=0.4, status=500, upstream=f"{B}, {A}"),
        _entry(end=999.0, took=0.5, status=502, upstream=B),
        _entry(end=1000.0 + KILL_SLACK_SECONDS + 1.2, took=0.1, status=502, upstream=B),
        # nginx's own answer with no upstream (e.g. a request it refused itself)
        _entry(end=1006.0, took=0.0, status=400, upstream=""),
    ]

    # When
    books = failure_books(log, killed=B, kill_at=KILL)

    # Then
    assert books == FailureBooks(
        server_errors=6,
        in_flight_on_killed=2,
        other_server_errors=4,
        by_node={A: [1, 4], B: [2, 4]},
        retried=2,
        cut_candidates=1,
    )


def test_only_responses_cut_short_within_the_kills_second_count_as_cut_off_by_it():
    # Given: locust's failures CSV rows (times to the second); the kill at 12:00:00.4 UTC
    kill_at = 1_767_268_800.4  # 2026-01-01T12:00:00.4Z
    rows = [
        {"Error": "HTTPParseError('Incomplete response.')", "Occurrences": "2"}
        | {"First Seen": "2026-01-01T12:00:00Z", "Last Seen": "2026-01-01T12:00:01Z"},
        {"Error": "ConnectionResetError(104, 'Connection reset by peer')", "Occurrences": "1"}
        | {"First Seen": "1767268801", "Last Seen": "1767268801"},
        # the same kind, but seen again well after the kill: not the kill's
        {"Error": "HTTPParseError('Incomplete response.')", "Occurrences": "3"}
        | {"First Seen": "2026-01-01T12:00:00Z", "Last Seen": "2026-01-01T12:00:09Z"},
        # another kind of failure at the kill: not a response cut short
        {"Error": "CatchResponseError('place order: 502')", "Occurrences": "4"}
        | {"First Seen": "2026-01-01T12:00:00Z", "Last Seen": "2026-01-01T12:00:00Z"},
    ]

    assert cut_off_at_kill(rows, kill_at=kill_at) == 3
    assert cut_off_at_kill(rows, kill_at=None) == 0


def test_with_no_kill_no_failure_is_explained():
    log = [_entry(end=1000.4, took=1.0, status=502, upstream=B, method="POST")]

    books = failure_books(log, killed=B, kill_at=None)

    assert (books.server_errors, books.in_flight_on_killed, books.other_server_errors) == (1, 0, 1)
    assert books.by_node == {B: [1, 0]}


def test_emails_lost_duplicated_and_unknown_against_the_outbox():
    # Given: 5 outbox rows (one cancelled: not meant to be sent), and what the SMTP server took
    rows = [(1, "sent"), (2, "sent"), (3, "cancelled"), (4, "pending"), (5, "sent")]
    received = ["1", "2", "1", "99", "1"]

    # When
    books = email_books(rows, received)

    # Then: row 5 is marked sent but never arrived, row 4 was never sent: 2 lost; row 1 arrived
    # three times: 2 duplicates; 99 is no row of this run
    assert books == EmailBooks(
        rows=4, sent=3, received=5, lost=2, duplicated=2, duplicated_in_flight=0, unknown=1, unsent=1
    )


def test_every_email_once_is_nothing_lost_nor_duplicated():
    books = email_books([(7, "sent"), (8, "sent"), (9, "cancelled")], ["8", "7"])

    assert books == EmailBooks(
        rows=2, sent=2, received=2, lost=0, duplicated=0, duplicated_in_flight=0, unknown=0, unsent=0
    )


def test_a_duplicate_of_an_email_the_killed_worker_had_handed_over_is_told_apart():
    # Given: rows 3 and 4 had reached the SMTP server, unmarked, when the worker died; the sweep
    # sent 3 again; row 6 arrived twice for no reason the kill gives
    rows = [(3, "sent"), (4, "sent"), (5, "sent"), (6, "sent")]
    received = ["3", "4", "5", "3", "6", "6"]

    # When
    books = email_books(rows, received, frozenset({3, 4}))

    # Then
    assert (books.duplicated, books.duplicated_in_flight, books.lost) == (2, 1, 0)


def test_tasks_finished_counts_what_the_worker_log_says_ended():
    log = (
        "[INFO] Task inventory.tasks.stock_arrived[a1] received\n"
        "[INFO] Task inventory.tasks.stock_arrived[a1] succeeded in 0.2s: None\n"
        "[INFO] Task notifications.tasks.send_notifications[b2] succeeded in 0.05s: None\n"
        "[ERROR] Task notifications.tasks.send_notification[c3] raised unexpected: OperationalError()\n"
        "[INFO] Task notifications.tasks.send_notification[d4] received\n"
    )

    assert tasks_finished(log) == 3


CLEAN = {
    "locust": {"requests": 1729, "failures": 5, "rps": 18.46, "p50": 810.0, "p95": 2300.0},
    "failures": FailureBooks(
        server_errors=5,
        in_flight_on_killed=5,
        other_server_errors=0,
        by_node={A: [465, 814], B: [459, 5]},
        retried=16,
    ),
    "emails": EmailBooks(
        rows=217, sent=217, received=217, lost=0, duplicated=0, duplicated_in_flight=0, unknown=0, unsent=0
    ),
    "books": {"oversold": 0, "mismatch": 0, "waiting_beside_free": 0},
    "drift": 0,
    "backlog": 0,
    "orders": 190,
    "drained_seconds": 0.2,
}


def _verdicts(rows) -> dict:
    return {f.name: f.ok for f in rows if f.ok is not None}


def test_a_run_whose_only_failures_were_in_flight_on_the_killed_node_meets_every_target():
    rows = figures(**CLEAN, names={A: "web node A", B: "web node B (killed)"}, tasks={"worker node A": 310})

    assert exit_code(rows) == 0
    assert set(_verdicts(rows).values()) == {True}
    values = {f.name: f.value for f in rows}
    assert values["requests/s through nginx"] == 18.5
    assert values["answered by web node B (killed) after the kill"] == 5
    assert values["answered by web node A after the kill"] == 814
    assert values["passed on to the other web node by nginx (retried)"] == 16
    assert values["tasks run by worker node A"] == 310
    assert values["failures the kill does not explain"] == 0
    assert len(_verdicts(rows)) == 11


@pytest.mark.parametrize(
    ("change", "missed"),
    [
        ({"locust": {**CLEAN["locust"], "failures": 6}}, "failures the kill does not explain"),
        (
            {
                "failures": FailureBooks(6, 5, 1, {A: [465, 815], B: [459, 5]}, 16),
                "locust": {**CLEAN["locust"], "failures": 6},
            },
            "server errors the kill does not explain (nginx log)",
        ),
        ({"orders": 0}, "orders placed"),
        ({"books": {"oversold": 1, "mismatch": 0, "waiting_beside_free": 0}}, "oversold units"),
        (
            {"books": {"oversold": 0, "mismatch": 2, "waiting_beside_free": 0}},
            "stock allocated vs lines allocated",
        ),
        ({"drift": 1}, "ledger drift (stock items off their ledger)"),
        ({"emails": EmailBooks(217, 216, 216, 1, 0, 0, 0, 0)}, "emails lost"),
        ({"emails": EmailBooks(217, 217, 218, 0, 1, 0, 0, 0)}, "emails duplicated"),
        # a second copy of the email the killed worker had handed over is still a duplicate
        ({"emails": EmailBooks(217, 217, 218, 0, 1, 1, 0, 0)}, "emails duplicated"),
        ({"emails": EmailBooks(217, 217, 218, 0, 0, 0, 1, 0)}, "emails with no outbox row"),
        ({"backlog": 1}, "allocation requests pending after recovery"),
        (
            {"books": {"oversold": 0, "mismatch": 0, "waiting_beside_free": 3}},
            "units waiting beside free stock after recovery",
        ),
    ],
)
def test_each_missed_target_fails_the_run(change, missed):
    rows = figures(**{**CLEAN, **change})

    failed = {name for name, ok in _verdicts(rows).items() if ok is False}
    assert failed == (
        {missed, "failures the kill does not explain"} if "server errors" in missed else {missed}
    )
    assert exit_code(rows) == 1


def test_a_response_cut_short_is_explained_only_if_nginx_logged_one_from_the_killed_node():
    # Given: 6 failures: 5 502s in flight on B, and one response cut short at the kill
    locust = {**CLEAN["locust"], "failures": 6}
    with_cut = FailureBooks(5, 5, 0, {A: [465, 814], B: [459, 6]}, 16, cut_candidates=1)
    without = FailureBooks(5, 5, 0, {A: [465, 814], B: [459, 5]}, 16, cut_candidates=0)

    # When: nginx logged an answer from B across the kill
    explained = figures(**{**CLEAN, "locust": locust, "failures": with_cut}, cut_off=1)
    # ... or did not
    unexplained = figures(**{**CLEAN, "locust": locust, "failures": without}, cut_off=1)

    # Then
    values = {f.name: f.value for f in explained}
    assert values["of them cut off mid-answer by the kill (locust, nginx log)"] == 1
    assert values["failures the kill does not explain"] == 0 and exit_code(explained) == 0
    values = {f.name: f.value for f in unexplained}
    assert values["failures the kill does not explain"] == 1 and exit_code(unexplained) == 1
