"""What every orders admin shares: read-only admins and inlines, a link to an order, a summing subquery."""

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html

from orders.models import Order


def order_link(order: Order) -> str:
    url = reverse("admin:orders_order_change", args=[quote(order.pk)])
    return format_html('<a href="{}">{}</a>', url, order.number)


def sum_of(model, field: str, *, fk: str):
    """A correlated subquery summing `field` over the rows of `model` that point here (0 when none).

    A subquery rather than Sum() over a join: a search or filter on the same
    relation (e.g. SKU of lines) would join it again and multiply the sum.
    """
    rows = (
        model.objects.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(rows), 0, output_field=IntegerField())


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record written only by the services: staff may look, never add, change or delete."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """A read-only part of its parent, visible to whoever may see the parent."""

    template = "admin/orders/readonly_tabular.html"
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        opts = self.parent_model._meta
        return request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or request.user.has_perm(
            f"{opts.app_label}.change_{opts.model_name}"
        )
