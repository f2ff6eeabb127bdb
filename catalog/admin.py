"""The catalog in the admin: products, synonym groups, and uploads.

An upload takes two steps: the file is checked and previewed (``catalog.preview``: its
first rows as they would be imported, every row's error, the counts), then imported on
"Import" (a background task; the upload's page follows its progress) or discarded on
"Cancel". The upload page lists the accepted formats and the columns
(``catalog.columns``, the list the import reads by) and offers a sample file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.base import File
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from catalog.columns import COLUMNS, FORMATS, sample_table
from catalog.models import CatalogUpload, Product, SynonymGroup
from catalog.preview import (
    PREVIEW_FIELDS,
    PREVIEW_ROWS,
    catalog_preview,
    preview_discard,
    preview_open,
    preview_stash,
)
from catalog.services import product_save, products_restore, products_soft_delete
from catalog.tasks import catalog_upload_process_task
from tenants.admin_base import TenantOwnedAdmin
from tenants.csv_export import csv_format_for, csv_response
from tenants.tasks import enqueue_on_commit

ALLOWED_SUFFIXES = {".csv", ".txt", ".xlsx", ".json"}
SESSION_KEY = "catalog_previews"
SESSION_MAX_PREVIEWS = 5


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

    @admin.action(description=_("Restore selected deleted rows"), permissions=["change"])
    def restore_selected(self, request: HttpRequest, queryset: Any) -> None:
        count = 0
        for tenant_id in set(queryset.values_list("tenant_id", flat=True)):
            rows = [p for p in queryset if p.tenant_id == tenant_id]
            count += products_restore(tenant=rows[0].tenant, products=rows)
        restored = ngettext("Restored %(count)s product.", "Restored %(count)s products.", count)
        self.message_user(request, restored % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Reindex selected products for search"), permissions=["change"])
    def reindex_selected(self, request: HttpRequest, queryset: Any) -> None:
        from catalog.index import index_upsert

        count = 0
        for tenant_id in set(queryset.values_list("tenant_id", flat=True)):
            rows = [p for p in queryset if p.tenant_id == tenant_id]
            count += index_upsert(tenant=rows[0].tenant, products=rows)
        done = ngettext("Reindexed %(count)s product.", "Reindexed %(count)s products.", count)
        self.message_user(request, done % {"count": count}, messages.SUCCESS)


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
                gettext("Upload a .csv, .xlsx or .json file (got %(suffix)s).")
                % {"suffix": suffix or gettext("no extension")}
            )
        if upload.size > settings.CATALOG_UPLOAD_MAX_BYTES:
            limit = settings.CATALOG_UPLOAD_MAX_BYTES // (1024 * 1024)
            raise forms.ValidationError(
                gettext("The file is larger than %(limit)s MB.") % {"limit": limit}
            )
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

    @admin.display(description=_("progress"))
    def progress(self, obj: CatalogUpload) -> str:
        return format_html(
            '<progress max="100" value="{}" data-upload-status="{}"></progress> {}',
            obj.progress_percent,
            obj.status,
            gettext("%(percent)s%% (%(done)s of %(total)s rows)")
            % {
                "percent": obj.progress_percent,
                "done": obj.processed_rows,
                "total": obj.total_rows,
            },
        )

    @admin.display(description=_("result"))
    def counts(self, obj: CatalogUpload) -> str:
        return gettext(
            "%(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
            "%(deactivated)s deactivated, %(failed)s failed"
        ) % {
            "created": obj.created_count,
            "updated": obj.updated_count,
            "unchanged": obj.unchanged_count,
            "deactivated": obj.deactivated_count,
            "failed": obj.failed_count,
        }

    @admin.display(description=_("row errors"))
    def error_report(self, obj: CatalogUpload) -> str:
        if not obj.errors:
            return gettext("None")
        url = reverse("admin:catalog_catalogupload_errors", args=[obj.pk])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e["row"], e.get("sku", ""), e["reason"]) for e in obj.errors[:100]),
        )
        more = (
            format_html(
                "<p>{}</p>", gettext("Showing 100 of %(count)s.") % {"count": obj.failed_count}
            )
            if obj.failed_count > 100
            else ""
        )
        return format_html(
            '<p><a href="{}" class="button">{}</a></p>'
            '<table class="upload-errors"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "</tr></thead><tbody>{}</tbody></table>{}",
            url,
            gettext("Download the error report (CSV)"),
            gettext("row"),
            gettext("SKU"),
            gettext("reason"),
            rows,
            more,
        )

    # ---- step 1: the upload page, the file checked and previewed ----------------------

    def _help_context(self) -> dict[str, Any]:
        return {
            "formats": FORMATS,
            "columns": COLUMNS,
            "sample_url": reverse("admin:catalog_catalogupload_sample"),
            "preview_rows": PREVIEW_ROWS,
        }

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """A valid file is kept and previewed, not imported; the form shows its errors."""
        if request.method == "POST" and self.has_add_permission(request):
            tenant = getattr(request, "tenant", None)
            form = self.get_form(request)(request.POST, request.FILES)
            if tenant is not None and form.is_valid():
                return self._preview_start(request, tenant, form)
            if tenant is None:
                self.message_user(
                    request,
                    gettext(
                        "Only a member of a tenant uploads its catalog (operators: "
                        "manage.py import_catalog)."
                    ),
                    messages.ERROR,
                )
                return HttpResponseRedirect(reverse("admin:catalog_catalogupload_changelist"))
        context = {
            **self._help_context(),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            **(extra_context or {}),
        }
        return super().add_view(request, form_url, context)

    def _previews(self, request: HttpRequest) -> dict[str, dict[str, Any]]:
        return dict(request.session.get(SESSION_KEY, {}))

    def _preview_start(self, request: HttpRequest, tenant: Any, form: Any) -> HttpResponse:
        upload = form.cleaned_data["file"]
        token, stored = preview_stash(tenant=tenant, upload=upload)
        previews = self._previews(request)
        previews[token] = {
            "path": stored,
            "name": Path(upload.name).name,
            "full_sync": bool(form.cleaned_data.get("full_sync")),
            "tenant": tenant.pk,
        }
        while len(previews) > SESSION_MAX_PREVIEWS:  # the oldest first (dicts keep order)
            oldest = next(iter(previews))
            preview_discard(tenant=tenant, path=previews.pop(oldest)["path"])
        request.session[SESSION_KEY] = previews
        return HttpResponseRedirect(reverse("admin:catalog_catalogupload_preview", args=[token]))

    # ---- step 2: the preview, then Import or Cancel -----------------------------------

    def preview_view(self, request: HttpRequest, token: str) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        tenant = getattr(request, "tenant", None)
        previews = self._previews(request)
        entry = previews.get(token)
        if tenant is None or entry is None or entry.get("tenant") != tenant.pk:
            raise Http404(gettext("No such upload preview: upload the file again."))
        try:
            with preview_open(tenant=tenant, path=entry["path"]) as fileobj:
                preview = catalog_preview(
                    tenant=tenant,
                    fileobj=fileobj,
                    filename=entry["name"],
                    full_sync=entry["full_sync"],
                )
        except FileNotFoundError as exc:
            previews.pop(token, None)
            request.session[SESSION_KEY] = previews
            raise Http404(gettext("This preview expired: upload the file again.")) from exc

        context = {
            **self.admin_site.each_context(request),
            **self._help_context(),
            "opts": self.model._meta,
            "title": gettext("Preview of “%(name)s”") % entry,
            "preview": preview,
            "full_sync": entry["full_sync"],
            "fields": PREVIEW_FIELDS,
        }
        template = "admin/catalog/catalogupload/preview.html"
        if request.method != "POST":
            return TemplateResponse(request, template, context)
        if "_import" in request.POST and not preview.is_importable:
            context["refusal"] = gettext(
                "This file has nothing to import: fix it and upload it again."
            )
            return TemplateResponse(request, template, context, status=400)
        previews.pop(token)
        request.session[SESSION_KEY] = previews
        if "_import" in request.POST:
            return self._import(request, tenant, entry)
        preview_discard(tenant=tenant, path=entry["path"])
        self.message_user(request, gettext("Cancelled: “%(name)s” was not imported.") % entry)
        return HttpResponseRedirect(reverse("admin:catalog_catalogupload_add"))

    def _import(self, request: HttpRequest, tenant: Any, entry: dict[str, Any]) -> HttpResponse:
        upload = CatalogUpload(
            tenant=tenant,
            uploaded_by=request.user,  # type: ignore[misc]  # the admin's user is signed in
            original_name=entry["name"],
            full_sync=entry["full_sync"],
        )
        with preview_open(tenant=tenant, path=entry["path"]) as fileobj:
            upload.file.save(entry["name"], File(fileobj), save=False)
        upload.save()
        preview_discard(tenant=tenant, path=entry["path"])
        enqueue_on_commit(catalog_upload_process_task, tenant.pk, upload.pk)
        self.log_addition(request, upload, [{"added": {}}])
        self.message_user(
            request,
            gettext("“%(name)s” is queued: this page follows its progress.") % entry,
        )
        return HttpResponseRedirect(reverse("admin:catalog_catalogupload_change", args=[upload.pk]))

    # ---- downloads ----------------------------------------------------------------------

    def sample_csv(self, request: HttpRequest) -> HttpResponse:
        """A catalog of five instruments with every column, in the member's CSV convention."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        header, rows = sample_table()
        return csv_response(
            filename="catalog-sample.csv",
            header=header,
            rows=rows,
            csv_format=csv_format_for(request),
        )

    def get_urls(self) -> list:
        return [
            path(
                "<int:object_id>/errors.csv",
                self.admin_site.admin_view(self.errors_csv),
                name="catalog_catalogupload_errors",
            ),
            path(
                "preview/<str:token>/",
                self.admin_site.admin_view(self.preview_view),
                name="catalog_catalogupload_preview",
            ),
            path(
                "sample.csv",
                self.admin_site.admin_view(self.sample_csv),
                name="catalog_catalogupload_sample",
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
            csv_format=csv_format_for(request),
        )
