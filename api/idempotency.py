"""`Idempotency-Key` on every POST: a retried request returns the first answer and changes nothing twice.

Two guards, each for its own failure:
- The change: the handler passes `submission_key` (derived from the caller and their key) to the
  service, which claims it in the change's own transaction (shop.submissions). A second request with
  the same key, even one racing the first, cannot apply the change again.
- The answer: after the handler, the response (any status below 500 but 409 and 429) is kept as an
  IdempotentRequest (api.services) and replayed, the same JSON, with `Idempotent-Replayed: true`,
  for API_IDEMPOTENCY_KEEP_DAYS days (api.tasks prunes older ones daily).

Keys are one namespace for the whole shop: a key first used by another integration is answered 409,
the same key with another body or path 422 (the IETF httpapi Idempotency-Key draft's codes). The body
is compared as parsed JSON (key order and spacing do not matter).
"""

import functools
import hashlib
import json
import time
from datetime import timedelta

from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from shop.submissions import AlreadySubmitted

from .auth import ApiKeyUser
from .errors import problem_response
from .models import IdempotentRequest
from .services import idempotent_request_keep

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
# How long a retry that raced the first request waits for the first one's answer to be kept.
WAIT_FOR_FIRST_SECONDS = 3.0
NOT_KEPT = {409, 429}
# Headers of the first answer a replay repeats.
KEPT_HEADERS = ("Location",)


def request_owner(request) -> str:
    if isinstance(request.user, ApiKeyUser):
        return f"key:{request.user.api_key.pk}"
    return f"user:{request.user.pk}"


def _fingerprint(request) -> str:
    """The method, path and parsed body. Parsed, not raw: a staff session's CSRF check has already
    read the body by now, and a client that re-serializes its JSON on retry sends the same request."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(kept: IdempotentRequest) -> Response:
    content_type = "application/problem+json" if kept.status_code >= 400 else None
    response = Response(
        kept.body["data"], status=kept.status_code, content_type=content_type, headers=kept.body["headers"]
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _answer_kept(kept: IdempotentRequest, *, owner: str, fingerprint: str) -> Response:
    if kept.owner != owner:
        return problem_response(
            status_code=409,
            code="idempotency_key_taken",
            detail="This Idempotency-Key was already used by another client. Use a new, random key per request.",
        )
    if kept.fingerprint != fingerprint:
        return problem_response(
            status_code=422,
            code="idempotency_key_reused",
            detail="This Idempotency-Key was used for a different request. Use a new key for a new request.",
        )
    return _replay(kept)


def _after_twin(exc: AlreadySubmitted, *, key: str, owner: str, fingerprint: str) -> Response:
    """The service refused the change: a request with this key applied it. Answer with its kept answer."""
    deadline = time.monotonic() + WAIT_FOR_FIRST_SECONDS
    long_ago = exc.created_at is not None and timezone.now() - exc.created_at > timedelta(minutes=1)
    while True:
        kept = IdempotentRequest.objects.filter(key=key).first()
        if kept is not None:
            return _answer_kept(kept, owner=owner, fingerprint=fingerprint)
        if long_ago or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if long_ago:  # its answer was pruned (API_IDEMPOTENCY_KEEP_DAYS): say so rather than "retry"
        return problem_response(
            status_code=409,
            code="idempotency_key_expired",
            detail=f"{exc} Its answer is no longer kept; read the resource to see its state.",
        )
    return problem_response(
        status_code=409,
        code="idempotency_key_in_use",
        detail="A request with this Idempotency-Key was already applied; its answer is not ready. "
        "Retry in a few seconds.",
    )


def _kept_body(response: Response):
    """The answer as JSON values (decimals and dates as the client saw them), with its kept headers."""
    data = json.loads(JSONRenderer().render(response.data) or b"null")
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    return {"data": data, "headers": headers}


def idempotent(handler):
    """Decorate a POST handler `handler(self, request, *args, submission_key, **kwargs)`."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return problem_response(
                status_code=400,
                code="idempotency_key_missing",
                detail=f"Send an {HEADER} header (a new random value, e.g. a UUID, per request; the same "
                "value when you retry it).",
            )
        if len(key) > MAX_LENGTH or not key.isprintable():
            return problem_response(
                status_code=400,
                code="idempotency_key_invalid",
                detail=f"The {HEADER} must be 1 to {MAX_LENGTH} printable characters.",
            )
        owner = request_owner(request)
        fingerprint = _fingerprint(request)
        kept = IdempotentRequest.objects.filter(key=key).first()
        if kept is not None:
            return _answer_kept(kept, owner=owner, fingerprint=fingerprint)
        submission_key = hashlib.sha256(f"api|{owner}|{key}".encode()).hexdigest()
        try:
            response = handler(view, request, *args, submission_key=submission_key, **kwargs)
        except AlreadySubmitted as exc:
            return _after_twin(exc, key=key, owner=owner, fingerprint=fingerprint)
        except Exception as exc:  # noqa: BLE001  (DRF turns API errors into responses; others re-raise)
            response = view.handle_exception(exc)
        if response.status_code < 500 and response.status_code not in NOT_KEPT:
            idempotent_request_keep(
                key=key,
                owner=owner,
                method=request.method,
                path=request.path,
                fingerprint=fingerprint,
                status_code=response.status_code,
                body=_kept_body(response),
            )
        return response

    return wrapper
