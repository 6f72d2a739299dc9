"""May this caller use this endpoint? One rule for keys (their scopes) and staff (the admin's permissions).

Every API view names its scopes: `api_read_scope` for GET/HEAD/OPTIONS and `api_write_scope` for the
rest (api.scopes). A key passes if it holds the scope; a staff session passes if it has the admin
permissions the scope maps to, so a warehouse role that cannot change orders in the admin cannot
change them here either. A view may set `staff_write_any` (admin permissions, any one enough) where
the admin lets more than one role do its action.
"""

from rest_framework import permissions

from .auth import ApiKeyUser
from .scopes import SCOPES


def required_scope(request, view) -> str | None:
    if request.method in permissions.SAFE_METHODS:
        return getattr(view, "api_read_scope", None)
    return getattr(view, "api_write_scope", None)


class HasScope(permissions.BasePermission):
    message = "This key or account may not do this: it lacks the “{scope}” scope."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        name = required_scope(request, view)
        if name is None:  # a view that forgot its scope is closed, not open
            return False
        self.message = HasScope.message.format(scope=name)
        if isinstance(user, ApiKeyUser):
            return name in user.api_key.scopes
        if not (user.is_active and user.is_staff):
            return False
        scope = SCOPES[name]
        if request.method in permissions.SAFE_METHODS:
            return any(user.has_perm(p) for p in scope.staff_read)
        # An action the admin allows to more than one role (shipping: `change order` or `add shipment`)
        # names its permissions on the view: any one of them is enough, as in the admin.
        write_any = getattr(view, "staff_write_any", None)
        if write_any:
            return any(user.has_perm(p) for p in write_any)
        return all(user.has_perm(p) for p in scope.staff_write) and bool(scope.staff_write)
