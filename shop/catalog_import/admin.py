"""The catalog import in the admin: upload a CSV file, follow its import, read what each line did.

Who may import: staff who may add and change products (a products file) or variants (a variants
file): the "Catalog" role. The upload page is the model's add page; an import's change page is its
result page (nothing on it can be edited), which reloads itself every 2 seconds until the worker is
done.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from ..formatting import datetime_in_words
from .csvfile import KEY_COLUMNS, MAX_FILE_BYTES, CatalogFileError, columns_for
from .models import CatalogImport, CatalogImportKind, CatalogImportOutcome
from .services import catalog_import_create, catalog_import_requeue

LINES_PER_PAGE = 100
PERMISSIONS = {
    CatalogImportKind.PRODUCTS: ("shop.add_product", "shop.change_product"),
    CatalogImportKind.VARIANTS: ("shop.add_variant", "shop.change_variant"),
}


def importable_kinds(user) -> list[str]:
    return [kind for kind, perms in PERMISSIONS.items() if user.is_active and user.has_perms(perms)]


class CatalogImportForm(forms.Form):
    kind = forms.ChoiceField(label="The file holds", choices=CatalogImportKind.choices)
    file = forms.FileField(label="CSV file")

    def __init__(self, *args, kinds: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, CatalogImportKind(k).label) for k in kinds]
        self.fields["file"].help_text = " ".join(
            f"{CatalogImportKind(k).label}: columns {', '.join(columns_for(k))} ({KEY_COLUMNS[k]} required)."
            for k in kinds
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.0f} MB; at most {MAX_FILE_BYTES // 1024 // 1024} MB "
                "can be imported at once. Split it into several files."
            )
        return upload


@admin.register(CatalogImport)
class CatalogImportAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "progress",
        "created_count",
        "updated_count",
        "failed_count",
        "by",
        "when",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["created_by"]
    search_fields = ["file_name"]
    show_full_result_count = False

    def has_view_permission(self, request, obj=None) -> bool:
        return bool(importable_kinds(request.user)) or super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return bool(importable_kinds(request.user))

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    @admin.display(description="Progress")
    def progress(self, obj: CatalogImport) -> str:
        return f"{obj.percent} %" if obj.total_rows else "—"

    @admin.display(description="By", ordering="created_by__email")
    def by(self, obj: CatalogImport) -> str:
        return obj.created_by.get_username() if obj.created_by else "—"

    @admin.display(description="Uploaded", ordering="created_at")
    def when(self, obj: CatalogImport) -> str:
        return datetime_in_words(obj.created_at)

    def add_view(self, request, form_url="", extra_context=None):
        return self.upload_view(request)

    def upload_view(self, request, *, kind: str | None = None):
        """The upload page (also the product and variant lists' "Import", with their `kind` chosen)."""
        kinds = importable_kinds(request.user)
        if not kinds:
            raise PermissionDenied
        form = CatalogImportForm(
            request.POST or None, request.FILES or None, kinds=kinds, initial={"kind": kind}
        )
        if request.method == "POST" and form.is_valid():
            try:
                job = catalog_import_create(
                    kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"], user_id=request.user.pk
                )
            except CatalogFileError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(
                    request, f"{job.file_name}: {job.total_rows} rows to import; a worker is on it."
                )
                return HttpResponseRedirect(reverse("admin:shop_catalogimport_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import a catalog CSV file",
            "form": form,
            "export_urls": [
                ("products", reverse("admin:shop_product_export")),
                ("variants", reverse("admin:shop_variant_export")),
            ],
        }
        return TemplateResponse(request, "admin/shop/catalogimport/upload.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = get_object_or_404(CatalogImport.objects.select_related("created_by"), pk=object_id)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        if request.method == "POST":
            if not importable_kinds(request.user):
                raise PermissionDenied
            if not catalog_import_requeue(job_id=job.pk).is_finished:
                messages.success(
                    request, "Queued again: a worker goes on from the first rows not imported yet."
                )
            return HttpResponseRedirect(request.path)
        outcome = request.GET.get("outcome", "")
        if outcome not in CatalogImportOutcome.values:
            outcome = ""
        lines = job.lines.order_by("line")
        if outcome:
            lines = lines.filter(outcome=outcome)
        page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
        counts = [
            (CatalogImportOutcome.CREATED, job.created_count),
            (CatalogImportOutcome.UPDATED, job.updated_count),
            (CatalogImportOutcome.UNCHANGED, job.unchanged_count),
            (CatalogImportOutcome.FAILED, job.failed_count),
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(job),
            "job": job,
            "outcome": outcome,
            "counts": [(value.value, value.label, n) for value, n in counts],
            "page_obj": page,
            "uploaded": datetime_in_words(job.created_at),
        }
        return TemplateResponse(request, "admin/shop/catalogimport/result.html", context)
