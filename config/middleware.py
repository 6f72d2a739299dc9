"""Request hygiene that belongs to no app (docs/security.md)."""

from urllib.parse import unquote_to_bytes

from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse


class RejectNulBytesMiddleware:
    """Answer 400 to a request whose path or query string holds a NUL byte.

    No address of the shop contains one, and PostgreSQL refuses NUL in text, so a lookup with
    `/orders/%00/` or `?q=%00` would end in a database error (a 500) instead of "not found". Forms
    already refuse NUL in posted fields (Django's ProhibitNullCharactersValidator).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or b"\x00" in unquote_to_bytes(query.replace("+", " ")):
            if request.path_info.startswith("/api/"):
                # The integration API answers every error as problem details (docs/api.md), this one too.
                from api.errors import problem

                body = problem(
                    status_code=400,
                    detail="The address or its query string holds a NUL byte, which no field accepts.",
                    code="nul_byte",
                )
                return JsonResponse(body, status=400, content_type="application/problem+json")
            # Django turns this into a 400 page and logs it under django.security.
            raise SuspiciousOperation("NUL byte in the request's path or query string")
        return self.get_response(request)
