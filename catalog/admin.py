from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog.models import CatalogUpload, Product, SynonymGroup
from catalog.services import product_save, products_restore, products_soft_delete
from catalog.tasks import catalog_upload_process_task
from tenants.admin_base import TenantOwnedAdmin
from tenants.csv_export import csv_response
from tenants.tasks import enqueue_on_commit

ALLOWED_SUFFIXES = {".csv", ".txt", ".xlsx", ".json"}


@admin.register(Product)
class ProductAdmin(TenantOwnedAdmin):
    list_display = ["sku", "name", "category", "brand", "price", "currency", "is_active"]
    list_filter = ["is_active", "category", "brand"]
    search_fields = ["sku", "name", "brand", "category"]
    readonly_fields = ["clean_text", "content_hash"]
    actions = ["reindex_selected", *TenantOwnedAdmin.actions]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        tenant = getattr(request, "tenant", None)
        if not change and tenant is not None:
            obj.tenant = tenant
        product_save(product=obj)

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        products_soft_delete(tenant=obj.tenant, products=[obj])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for tenant_id in set(queryset.values_list("tenant_id", flat=True)):
            rows = [p for p in queryset if p.tenant_id == tenant_id]
            products_soft_delete(tenant=rows[0].tenant, products=rows)

    @admin.action(description="Restore selected deleted rows", permissions=["change"])
    def restore_selected(self, request: HttpRequest, queryset: Any) -> None:
        count = 0
        for tenant_id in set(queryset.values_list("tenant_id", flat=True)):
            rows = [p for p in queryset if p.tenant_id == tenant_id]
            count += products_restore(tenant=rows[0].tenant, products=rows)
        self.message_user(request, f"Restored {count} product(s).", messages.SUCCESS)

    @admin.action(description="Reindex selected products for search", permissions=["change"])
    def reindex_selected(self, request: HttpRequest, queryset: Any) -> None:
        from catalog.index import index_upsert

        count = 0
        for tenant_id in set(queryset.values_list("tenant_id", flat=True)):
            rows = [p for p in queryset if p.tenant_id == tenant_id]
            count += index_upsert(tenant=rows[0].tenant, products=rows)
        self.message_user(request, f"Reindexed {count} product(s).", messages.SUCCESS)


@admin.register(SynonymGroup)
class SynonymGroupAdmin(TenantOwnedAdmin):
    """The tenant's synonyms: a search for one term also searches the others, from the next
    search on (no reindexing); other tenants' searches never see them."""

    list_display = ["__str__", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["terms"]
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2})}}


class CatalogUploadForm(forms.ModelForm):
    class Meta:
        model = CatalogUpload
        fields = ["file", "full_sync"]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        if suffix not in ALLOWED_SUFFIXES:
            raise forms.ValidationError(
                f"Upload a .csv, .xlsx or .json file (got {suffix or 'no extension'})."
            )
        if upload.size > settings.CATALOG_UPLOAD_MAX_BYTES:
            limit = settings.CATALOG_UPLOAD_MAX_BYTES // (1024 * 1024)
            raise forms.ValidationError(f"The file is larger than {limit} MB.")
        return upload


@admin.register(CatalogUpload)
class CatalogUploadAdmin(TenantOwnedAdmin):
    form = CatalogUploadForm
    list_display = [
        "__str__",
        "status",
        "progress",
        "created_count",
        "updated_count",
        "unchanged_count",
        "deactivated_count",
        "failed_count",
        "uploaded_by",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["original_name"]
    change_form_template = "admin/catalog/catalogupload/change_form.html"

    def get_fields(self, request: HttpRequest, obj: CatalogUpload | None = None) -> Any:
        if obj is None:
            return ["file", "full_sync"]
        return [
            "original_name",
            "status",
            "progress",
            "counts",
            "error_message",
            "error_report",
            "full_sync",
            "uploaded_by",
            "started_at",
            "finished_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: CatalogUpload | None = None) -> Any:
        if obj is None:
            return []
        return self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or super().has_change_permission(request)

    @admin.display(description="progress")
    def progress(self, obj: CatalogUpload) -> str:
        return format_html(
            '<progress max="100" value="{}" data-upload-status="{}"></progress> {}% '
            "({} of {} rows)",
            obj.progress_percent,
            obj.status,
            obj.progress_percent,
            obj.processed_rows,
            obj.total_rows,
        )

    @admin.display(description="result")
    def counts(self, obj: CatalogUpload) -> str:
        return format_html(
            "{} created, {} updated, {} unchanged, {} deactivated, {} failed",
            obj.created_count,
            obj.updated_count,
            obj.unchanged_count,
            obj.deactivated_count,
            obj.failed_count,
        )

    @admin.display(description="row errors")
    def error_report(self, obj: CatalogUpload) -> str:
        if not obj.errors:
            return "None"
        url = reverse("admin:catalog_catalogupload_errors", args=[obj.pk])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e["row"], e.get("sku", ""), e["reason"]) for e in obj.errors[:100]),
        )
        more = f"<p>Showing 100 of {obj.failed_count}.</p>" if obj.failed_count > 100 else ""
        return format_html(
            '<p><a href="{}" class="button">Download the error report (CSV)</a></p>'
            '<table class="upload-errors"><thead><tr><th>row</th><th>sku</th><th>reason</th>'
            "</tr></thead><tbody>{}</tbody></table>{}",
            url,
            rows,
            format_html(more) if more else "",
        )

    def save_model(self, request: HttpRequest, obj: CatalogUpload, form: Any, change: bool) -> None:
        if not change:
            tenant = getattr(request, "tenant", None)
            if tenant is not None:
                obj.tenant = tenant
            obj.uploaded_by = request.user  # type: ignore[assignment]  # the admin's user is signed in
            obj.original_name = Path(form.cleaned_data["file"].name).name
        super().save_model(request, obj, form, change)
        if not change:
            enqueue_on_commit(catalog_upload_process_task, obj.tenant_id, obj.pk)

    def response_add(self, request: HttpRequest, obj: CatalogUpload, *args: Any) -> HttpResponse:
        """After an upload, the page that shows its progress (not the list)."""
        self.message_user(
            request, f"“{obj.original_name}” is queued: this page follows its progress."
        )
        return HttpResponseRedirect(reverse("admin:catalog_catalogupload_change", args=[obj.pk]))

    def get_urls(self) -> list:
        return [
            path(
                "<int:object_id>/errors.csv",
                self.admin_site.admin_view(self.errors_csv),
                name="catalog_catalogupload_errors",
            ),
            *super().get_urls(),
        ]

    def errors_csv(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        upload = get_object_or_404(self.get_queryset(request), pk=object_id)
        # The SKU and the reason quote the uploaded file: formula-injection safe.
        return csv_response(
            filename=f"upload-{upload.pk}-errors.csv",
            header=["row", "sku", "reason"],
            rows=([e["row"], e.get("sku", ""), e["reason"]] for e in upload.errors),
        )
