"""The scale test's books: which failures the kill explains, emails lost or duplicated, the figures.

Pure functions of what the run collected (nginx's access log, locust's totals, the outbox rows,
the SMTP server's messages, the stock books), so load/tests/test_scale_report.py can check every
target with exact inputs.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.core import Figure

NAME = "scale"
# A request that started up to this long after the SIGKILL still reached the dying node: the kernel
# accepts connections on its listening socket until the last process holding it is gone.
KILL_SLACK_SECONDS = 1.0
# Outbox rows that are not meant to be sent (cancelled before sending) are not counted as lost.
NOT_TO_SEND = {"cancelled"}


@dataclass(frozen=True)
class FailureBooks:
    server_errors: int  # responses nginx gave with status >= 500
    in_flight_on_killed: int  # of them: requests the killed web node held at the kill
    other_server_errors: int  # server errors the kill does not explain
    by_node: dict  # requests answered by each web node (host:port): [before the kill, after it]
    retried: int  # requests nginx passed to a second node after the first failed (nothing sent back)
    # Answers (status < 500) the killed node was sending when it died: nginx had passed its status
    # line on, so it logs that status, and the client gets a response cut short.
    cut_candidates: int = 0


@dataclass(frozen=True)
class EmailBooks:
    rows: int  # outbox rows meant to be sent
    sent: int  # rows marked sent
    received: int  # messages the SMTP server took (repeats included)
    lost: int  # rows meant to be sent that the SMTP server never received
    duplicated: int  # messages received beyond the first, per outbox row
    duplicated_in_flight: (
        int  # of them: second copies of rows the SMTP server had taken, unmarked, at the kill
    )
    unknown: int  # messages received with no outbox row of this run
    unsent: int  # rows not marked sent after the drain


def _upstreams(entry: dict) -> list[str]:
    return [part.strip() for part in str(entry.get("upstream", "")).split(",") if part.strip()]


def failure_books(access_log: list[dict], *, killed: str, kill_at: float | None) -> FailureBooks:
    """Classify nginx's answers: a 5xx is the kill's when the killed node held the request at the kill.

    `killed` is the web node's host:port as nginx names it; `kill_at` the SIGKILL's wall-clock time
    (None: no kill happened, so no error is explained). A request was held by the killed node when
    the node is the last upstream nginx tried, it started before the kill (plus KILL_SLACK_SECONDS)
    and ended after it.
    """
    errors = in_flight = retried = cut = 0
    by_node: dict[str, list[int]] = {}
    for entry in access_log:
        upstreams = _upstreams(entry)
        end = float(entry["msec"])
        start = end - float(entry["request_time"])
        if upstreams:  # the last node tried is the one whose answer was sent
            after = kill_at is not None and end >= kill_at
            by_node.setdefault(upstreams[-1], [0, 0])[after] += 1
            retried += len(upstreams) > 1
        held = kill_at is not None and start <= kill_at + KILL_SLACK_SECONDS and end >= kill_at
        if int(entry["status"]) < 500:
            cut += held and upstreams[-1:] == [killed]
            continue
        errors += 1
        if held and upstreams[-1:] == [killed]:
            in_flight += 1
    return FailureBooks(
        server_errors=errors,
        in_flight_on_killed=in_flight,
        other_server_errors=errors - in_flight,
        by_node=dict(sorted(by_node.items())),
        retried=retried,
        cut_candidates=cut,
    )


# How locust (geventhttpclient) names a response whose connection closed before its end.
CUT_OFF_ERRORS = ("Incomplete response", "ConnectionResetError", "Connection reset by peer")


def _seen(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def cut_off_at_kill(failure_rows: list[dict], *, kill_at: float | None) -> int:
    """Locust failures that are responses cut short, all seen within a second or so of the kill.

    `failure_rows` are locust's failures CSV rows (Error, Occurrences, First Seen, Last Seen; the
    times to the second). Only these kinds, only in that window: anything else stays unexplained.
    """
    if kill_at is None:
        return 0
    low, high = int(kill_at) - 1, kill_at + KILL_SLACK_SECONDS + 1
    return sum(
        int(row["Occurrences"])
        for row in failure_rows
        if any(kind in row["Error"] for kind in CUT_OFF_ERRORS)
        and low <= _seen(row["First Seen"])
        and _seen(row["Last Seen"]) <= high
    )


def email_books(
    rows: list[tuple[int, str]], received_ids: list[str], in_flight_at_kill: frozenset[int] = frozenset()
) -> EmailBooks:
    """Outbox rows (id, status) against the X-Notification-Id of every message the SMTP server took.

    `in_flight_at_kill`: rows the SMTP server had received by the kill but that were not marked sent
    just after it. A worker killed between the server's reply and its commit leaves such a row in
    "sending"; the sweep sends it again, and nothing can tell it was delivered (at-least-once): the
    second copy, with the same Message-ID, is counted here. They still count as duplicated.
    """
    meant = {pk for pk, status in rows if status not in NOT_TO_SEND}
    counts = Counter(received_ids)
    received = {int(pk) for pk in counts if str(pk).isdigit()}
    return EmailBooks(
        rows=len(meant),
        sent=sum(1 for pk, status in rows if status == "sent"),
        received=len(received_ids),
        lost=len(meant - received),
        duplicated=sum(n - 1 for n in counts.values()),
        duplicated_in_flight=sum(
            1 for pk, n in counts.items() if n > 1 and str(pk).isdigit() and int(pk) in in_flight_at_kill
        ),
        unknown=sum(n for pk, n in counts.items() if not str(pk).isdigit() or int(pk) not in meant),
        unsent=sum(1 for pk, status in rows if status != "sent" and status not in NOT_TO_SEND),
    )


def _exactly_zero(name: str, value: int, unit: str) -> Figure:
    return Figure(NAME, name, value, unit, "= 0", value == 0)


def figures(
    *,
    locust: dict,
    failures: FailureBooks,
    emails: EmailBooks,
    books: dict,
    drift: int,
    backlog: int,
    orders: int,
    drained_seconds: float,
    names: dict[str, str] | None = None,
    tasks: dict[str, int] | None = None,
    held_by_killed: int = 0,
    cut_off: int = 0,
) -> list[Figure]:
    """The scale test's table: throughput, then each target with ok/MISSED.

    `locust` is the mixed scenario's "Aggregated" row (requests, failures, rps, p50, p95);
    `books` has oversold, mismatch and waiting_beside_free units (load.run._books); `names` names the
    web nodes by address; `tasks` counts the tasks each worker node finished; `cut_off` counts the
    locust failures that are responses cut short at the kill (`cut_off_at_kill`), explained up to
    the number of answers nginx logged from the killed node across the kill.
    """
    names, tasks = names or {}, tasks or {}
    cut_explained = min(cut_off, failures.cut_candidates)
    unexplained = locust["failures"] - failures.in_flight_on_killed - cut_explained
    rows = [
        Figure(NAME, "requests/s through nginx", round(locust["rps"], 1), "req/s"),
        Figure(NAME, "requests", locust["requests"], "requests"),
        Figure(NAME, "p50", locust["p50"], "ms"),
        Figure(NAME, "p95", locust["p95"], "ms"),
    ]
    for node, (before, after) in failures.by_node.items():
        name = names.get(node, node)
        rows.append(Figure(NAME, f"answered by {name} before the kill", before, "requests"))
        rows.append(Figure(NAME, f"answered by {name} after the kill", after, "requests"))
    rows.append(
        Figure(NAME, "passed on to the other web node by nginx (retried)", failures.retried, "requests")
    )
    rows += [Figure(NAME, f"tasks run by {name}", n, "tasks") for name, n in tasks.items()]
    rows.append(
        Figure(NAME, "broker messages still unacknowledged at the run's end", held_by_killed, "messages")
    )
    rows += [
        Figure(NAME, "failed requests (locust)", locust["failures"], "requests"),
        Figure(
            NAME,
            "of them 5xx in flight on the killed web node (nginx log)",
            failures.in_flight_on_killed,
            "requests",
        ),
        Figure(
            NAME,
            "of them cut off mid-answer by the kill (locust, nginx log)",
            cut_explained,
            "requests",
        ),
        _exactly_zero("failures the kill does not explain", unexplained, "requests"),
        _exactly_zero(
            "server errors the kill does not explain (nginx log)", failures.other_server_errors, "requests"
        ),
        # A run that placed no order checked nothing: the books below would pass on an empty shop.
        Figure.check(NAME, "orders placed", orders, "orders", at_least=1),
        _exactly_zero("oversold units", books["oversold"], "units"),
        _exactly_zero("stock allocated vs lines allocated", books["mismatch"], "units"),
        _exactly_zero("ledger drift (stock items off their ledger)", drift, "items"),
        Figure(NAME, "emails in the outbox", emails.rows, "emails"),
        Figure(NAME, "emails received by the SMTP server", emails.received, "emails"),
        _exactly_zero("emails lost", emails.lost, "emails"),
        _exactly_zero("emails duplicated", emails.duplicated, "emails"),
        Figure(
            NAME,
            "of them: taken by the SMTP server, not yet marked sent, at the kill",
            emails.duplicated_in_flight,
            "emails",
        ),
        _exactly_zero("emails with no outbox row", emails.unknown, "emails"),
        _exactly_zero("allocation requests pending after recovery", backlog, "requests"),
        _exactly_zero(
            "units waiting beside free stock after recovery", books["waiting_beside_free"], "units"
        ),
        Figure(NAME, "recovery: seconds from the run's end to drained", round(drained_seconds, 1), "s"),
    ]
    return rows


def tasks_finished(worker_log: str) -> int:
    """Tasks a Celery worker's INFO log says finished (succeeded, or raised and were logged so)."""
    return worker_log.count(" succeeded in ") + worker_log.count(" raised unexpected")


def exit_code(rows: list[Figure]) -> int:
    """1 when a target is missed, else 0."""
    return 1 if any(f.ok is False for f in rows) else 0
