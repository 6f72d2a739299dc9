"""Every error as RFC 9457 problem details (`application/problem+json`) with a message a person can act on."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from inventory.services.errors import StockError
from orders.services.errors import CheckoutError, OrderActionError
from shop.submissions import AlreadySubmitted

PROBLEM_TYPE_BASE = "https://docs.shop.invalid/api/problems/"  # not dereferenced; names the kind of problem

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the resource's state."
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be applied."
    default_code = "unprocessable"


def problem(*, status_code: int, detail: str, code: str, errors: dict | None = None) -> dict:
    body = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return body


def _first_message(data) -> str:
    if isinstance(data, dict):
        for field, value in data.items():
            message = _first_message(value)
            return message if field in ("non_field_errors", "detail") else f"{field}: {message}"
    if isinstance(data, list) and data:
        return _first_message(data[0])
    return str(data)


# A service's refusal (its message is written for staff) is a 409: the request was understood, and the
# resource's state does not allow it. The service rolled back, so nothing was changed.
DOMAIN_REFUSALS = (StockError, OrderActionError, CheckoutError)


def _as_api_exception(exc):
    if isinstance(exc, DOMAIN_REFUSALS):
        return Conflict(detail=str(exc), code="refused")
    if isinstance(exc, AlreadySubmitted):  # a submission key claimed outside api.idempotency
        return Conflict(detail=str(exc), code="already_applied")
    if isinstance(exc, DjangoValidationError):  # a model's or a service's validation: the caller's input
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return exceptions.ValidationError(detail=detail)
    return exc


def _errors_object(detail) -> dict:
    """A ValidationError's detail as an object of field → messages (a bare list under non_field_errors)."""
    return detail if isinstance(detail, dict) else {"non_field_errors": detail}


def problem_exception_handler(exc, context):
    exc = _as_api_exception(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: a 500, reported by the usual error handling
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if isinstance(exc, exceptions.ValidationError):
        body = problem(
            status_code=response.status_code,
            detail=_first_message(exc.detail),
            code="invalid",
            errors=_errors_object(exc.detail),
        )
    else:
        body = problem(
            status_code=response.status_code,
            detail=_first_message(response.data),
            code=code if isinstance(code, str) else "error",
        )
    response.data = body
    response.content_type = "application/problem+json"
    return response


def problem_response(*, status_code: int, detail: str, code: str) -> Response:
    return Response(
        problem(status_code=status_code, detail=detail, code=code),
        status=status_code,
        content_type="application/problem+json",
    )


@csrf_exempt  # it changes nothing; a POST to a wrong path gets this 404, not the CSRF failure page
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any path under /api/v1/ that names no endpoint: a problem, not the shop's HTML 404 page."""
    body = problem(
        status_code=404,
        detail=f"No endpoint at {request.path}. The endpoints are listed in the schema at /api/v1/schema/ "
        "(paths end with a slash).",
        code="not_found",
    )
    return JsonResponse(body, status=404, content_type="application/problem+json")
