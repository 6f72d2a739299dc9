"""Who is calling: an integration's API key (`Authorization: Bearer shk_…`) or a staff session."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import ApiKey
from .services import api_key_authenticate


class ApiKeyUser(AnonymousUser):
    """The request.user of a call made with an API key: no Django user, the key's scopes instead."""

    def __init__(self, key: ApiKey):
        super().__init__()
        self.api_key = key

    @property
    def is_authenticated(self) -> bool:  # an integration is authenticated, though it is not a person
        return True

    @property
    def pk(self) -> int | None:
        """The key's acting account, which the shop's records name as the one who made a change."""
        return self.api_key.acting_user_id

    id = pk

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as “Authorization: Bearer <key>”.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The API key is not valid.") from None
        key = api_key_authenticate(raw=raw)
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is not valid, or it was revoked.")
        return ApiKeyUser(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """The admin's session, for staff only (with CSRF on writes, as DRF's session auth does)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key made by staff in the admin."}


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
