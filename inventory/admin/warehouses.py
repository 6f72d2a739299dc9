"""Warehouses: where stock is kept, and in which order allocation draws on them (priority)."""

from django.contrib import admin

from inventory.models import Warehouse


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "priority", "is_active"]
    list_editable = ["priority"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    ordering = ["priority", "pk"]
