"""The stock-count import page (/admin/stock-counts/import/): upload a CSV of physical counts, check
and preview it (dry run) or apply it through `inventory.console.imports`, which writes only through
`inventory.services.stock_count_bulk`."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse

from inventory.models import StockItem

from .imports import StockCountFileError, stock_count_import
from .page import console_page
from .permissions import can_change_stock


class StockCountImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns sku, warehouse (its code) and counted; other columns are ignored. "
        "The stock export has this shape.",
    )
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run: check and preview, change nothing"
    )
    note = forms.CharField(required=False, max_length=200, help_text="Recorded on each ledger movement.")


def stock_count_import_view(request):
    """Upload a stock-count CSV: check, preview (dry run) or import through the inventory services."""
    if not can_change_stock(request.user):
        raise PermissionDenied
    result, file_error = None, None
    form = StockCountImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = stock_count_import(
                source=upload.file,
                user_id=request.user.pk,
                dry_run=form.cleaned_data["dry_run"],
                note=form.cleaned_data["note"] or f"stock count import: {upload.name}"[:255],
            )
        except StockCountFileError as exc:
            file_error = str(exc)
        else:
            if result.applied:
                messages.success(
                    request,
                    f"Imported {upload.name}: {result.changed} stock levels changed "
                    f"(+{result.units_added} / −{result.units_removed} units), {result.unchanged} already right. "
                    "Waiting backorders are being allocated from the new stock.",
                )
                return HttpResponseRedirect(
                    reverse("admin:inventory_stockmovement_changelist") + "?reason__exact=counted"
                )
    return console_page(
        request,
        "Import stock counts",
        "admin/staff/stock_count_import.html",
        {
            "form": form,
            "result": result,
            "file_error": file_error,
            "stock_url": reverse("admin:inventory_stockitem_changelist"),
            "export_url": reverse("admin:inventory_stockitem_export"),
            "opts": StockItem._meta,
        },
    )
