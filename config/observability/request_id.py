"""A request id that follows a web request into the tasks it enqueues.

The id comes from the proxy's `X-Request-ID` header when it is well-formed (nginx: `$request_id`),
else it is a new uuid4; the response carries it back in `X-Request-ID`. It lives in a contextvar
for the request; Celery's `before_task_publish` copies it into the headers of every task message
sent meanwhile, and the worker sets it again around that task (`task_prerun` / `task_postrun`).
`RequestIdFilter`, on the log handlers (config/observability/logs.py), writes it on every record.

This module imports no model: config/celery.py imports it before Django is set up.
"""

import contextvars
import logging
import re
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.core.signals import request_finished

HEADER = "X-Request-ID"
TASK_HEADER = "shop_request_id"  # the name in a task message's headers
# Letters, digits and . _ : - ; at most 128. Anything else (a log-injection attempt, a huge value)
# is replaced by a fresh id rather than copied into every log line.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("shop_request_id", default=None)
_task_tokens: dict[str, contextvars.Token] = {}


def request_id_get() -> str | None:
    """The id of the request or task this code runs for; None outside both."""
    return _current.get()


def request_id_from_header(value: str | None) -> str:
    """The proxy's id if well-formed, else a new one (32 hex digits, as nginx's $request_id)."""
    if value and WELL_FORMED.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that every other middleware's log lines carry the id.

    The id is cleared when the response is finished (`request_finished`), not when this middleware
    returns: Django logs a 4xx or 5xx response after the middleware chain, and that line carries it too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id_from_header(request.headers.get(HEADER))
        _current.set(rid)
        request.request_id = rid
        _sentry_tag(rid)
        response = self.get_response(request)
        response[HEADER] = rid
        return response


def _sentry_tag(rid: str) -> None:
    import sentry_sdk

    # Cheap when Sentry is off (a no-op scope); with it on, an error report names its request.
    sentry_sdk.get_isolation_scope().set_tag("request_id", rid)


def _clear(**_kwargs) -> None:
    _current.set(None)


request_finished.connect(_clear, dispatch_uid="shop_request_id_clear")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record a handler emits: the current id, or "-" outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or "-"
        return True


@before_task_publish.connect(dispatch_uid="shop_request_id_publish")
def _publish(headers=None, **_kwargs) -> None:
    rid = _current.get()
    if rid and headers is not None:
        headers[TASK_HEADER] = rid


@task_prerun.connect(dispatch_uid="shop_request_id_prerun")
def _prerun(task_id=None, task=None, **_kwargs) -> None:
    request = getattr(task, "request", None)
    # From the message's headers (a worker); a task run eagerly in the request's own thread has
    # none and keeps the request's id, which is already current.
    rid = getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    if rid is None:
        rid = _current.get()
    rid = rid if rid and WELL_FORMED.fullmatch(str(rid)) else None
    _task_tokens[task_id] = _current.set(rid)
    if rid:
        _sentry_tag(rid)  # the task's own scope under Sentry's Celery integration


@task_postrun.connect(dispatch_uid="shop_request_id_postrun")
def _postrun(task_id=None, **_kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _current.reset(token)  # back to what it was: a request's id when the task ran eagerly
        except ValueError:  # set in another context (should not happen): clear instead
            _current.set(None)
