"""Carts, for support: who has what in their cart; read-only."""

from django.contrib import admin

from orders.models import Cart, CartLine
from shop.formatting import datetime_in_words

from .base import ReadOnlyAdmin, ReadOnlyInline, sum_of


class CartOwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        return [("customer", "Signed-in customer"), ("guest", "Guest")]

    def queryset(self, request, queryset):
        if self.value() == "customer":
            return queryset.filter(user__isnull=False)
        if self.value() == "guest":
            return queryset.filter(user__isnull=True)
        return None


class CartLineInline(ReadOnlyInline):
    model = CartLine
    verbose_name_plural = "Items"
    fields = ["sku", "product", "quantity", "added"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    @admin.display(description="SKU")
    def sku(self, obj: CartLine) -> str:
        return obj.variant.sku

    @admin.display(description="Product")
    def product(self, obj: CartLine) -> str:
        return str(obj.variant)

    @admin.display(description="Added")
    def added(self, obj: CartLine) -> str:
        return datetime_in_words(obj.added_at)


@admin.register(Cart)
class CartAdmin(ReadOnlyAdmin):
    list_display = ["cart", "owner", "units_in_cart", "created", "updated"]
    list_filter = [CartOwnerFilter, "updated_at"]
    list_select_related = ["user"]
    search_fields = ["=id", "user__email", "lines__variant__sku"]
    ordering = ["-updated_at", "-pk"]
    fields = ["owner", "created", "updated"]
    readonly_fields = fields
    inlines = [CartLineInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .annotate(_units=sum_of(CartLine, "quantity", fk="cart"))
        )

    @admin.display(description="Cart", ordering="pk")
    def cart(self, obj: Cart) -> str:
        return f"#{obj.pk}"

    @admin.display(description="Owner", ordering="user__email")
    def owner(self, obj: Cart) -> str:
        if obj.user_id is None:
            return "Guest"
        return obj.user.email

    @admin.display(description="Units", ordering="_units")
    def units_in_cart(self, obj: Cart) -> int:
        return obj._units

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: Cart) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Last changed", ordering="updated_at")
    def updated(self, obj: Cart) -> str:
        return datetime_in_words(obj.updated_at)
