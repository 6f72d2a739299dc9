"""One read scope per web request (inventory.selectors.scope): the calendar and supplier habits once."""

from .selectors.scope import read_scope


class ReadScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with read_scope():
            return self.get_response(request)
