"""What every endpoint shares: authentication, the scope check, throttling, problem details, pagination."""

from rest_framework import generics, viewsets
from rest_framework.views import APIView


class ApiView(APIView):
    """Set `api_read_scope` / `api_write_scope` (api.scopes); None closes that kind of request."""

    api_read_scope: str | None = None
    api_write_scope: str | None = None


class ApiListView(ApiView, generics.ListAPIView):
    pass


class ApiRetrieveView(ApiView, generics.RetrieveAPIView):
    pass


class ApiReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    api_read_scope: str | None = None
    api_write_scope: str | None = None


class ApiGenericViewSet(viewsets.GenericViewSet):
    api_read_scope: str | None = None
    api_write_scope: str | None = None
