"""Admin classes every tenant-owned model's admin builds on.

Scoping itself comes from the models' managers (the request's tenant scope is
set by ``TenantScopeMiddleware``); these classes add what the admin needs on
top: another tenant's object is a 404, new rows get the member's tenant,
foreign-key choices of staff users are the tenant's members, soft-deleted
rows can be listed and restored, and superusers get a tenant filter.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tenants.models import TenantOwnedModel
from tenants.scoping import SoftDeleteQuerySet
from tenants.selectors import tenant_members


class TenantOwnedForm(forms.ModelForm):
    """Puts the tenant on new instances before validation, so per-tenant unique
    constraints are checked by the form instead of failing in the database."""

    scope_tenant = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.scope_tenant is not None and self.instance.tenant_id is None:
            self.instance.tenant = self.scope_tenant

    def _get_validation_exclusions(self) -> set[str]:
        exclude = super()._get_validation_exclusions()  # type: ignore[misc]  # private, unstubbed
        if self.instance.tenant_id is not None:
            exclude.discard("tenant")
        return exclude


def _with_tenant(form_class: type[forms.ModelForm], tenant: Any) -> type[forms.ModelForm]:
    return type(form_class.__name__, (form_class,), {"scope_tenant": tenant})


class DeletedListFilter(admin.SimpleListFilter):
    """Lists live rows by default; the trash and everything on request."""

    title = _("deleted")
    parameter_name = "trash"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("only", _("Deleted only")), ("all", _("Live and deleted"))]

    def choices(self, changelist: Any) -> Any:
        for choice in super().choices(changelist):
            if choice["display"] == gettext("All"):
                choice["display"] = _("Live only")
            yield choice

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "only":
            return queryset.filter(is_deleted=True)
        if self.value() == "all":
            return queryset
        return queryset.filter(is_deleted=False)


class NotFoundMixin:
    """An object outside the request's scope is a 404, like a missing one
    (Django's admin would redirect to the index with a message instead)."""

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None:
            raise Http404(
                gettext("No %(name)s matches the given query.")
                % {"name": self.model._meta.verbose_name}  # type: ignore[attr-defined]
            )
        return obj


class TenantFieldsMixin:
    """Shared by model admins and inlines: tenant handling of forms and choices."""

    def _member_tenant(self, request: HttpRequest) -> Any:
        return getattr(request, "tenant", None)

    def get_exclude(self, request: HttpRequest, obj: Model | None = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])  # type: ignore[misc]
        if not request.user.is_superuser or self._member_tenant(request) is not None:
            exclude.append("tenant")
        return exclude

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        for name in ("is_deleted", "deleted_at", "created_at", "updated_at"):
            if name not in readonly:
                readonly.append(name)
        if obj is not None and "tenant" not in readonly and request.user.is_superuser:
            readonly.append("tenant")  # a row never moves between tenants
        return readonly

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        tenant = self._member_tenant(request)
        if db_field.related_model is get_user_model() and tenant is not None:
            kwargs["queryset"] = tenant_members(tenant=tenant)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class ReadOnlyAdminMixin:
    """A record written only by services (an audit trail, a log): members read it."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TenantOwnedAdmin(NotFoundMixin, TenantFieldsMixin, admin.ModelAdmin):
    form: type[forms.ModelForm[Any]] = TenantOwnedForm
    actions = ["restore_selected", "hard_delete_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        model: type[TenantOwnedModel] = self.model
        queryset = model.all_objects.get_queryset()
        match = getattr(request, "resolver_match", None)
        if match is None or match.url_name == "autocomplete":
            # Pickers never offer soft-deleted rows.
            queryset = queryset.filter(is_deleted=False)
        ordering = self.get_ordering(request)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return queryset

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and self._member_tenant(request) is None:
            filters.insert(0, "tenant")
        filters.append(DeletedListFilter)
        return filters

    def get_list_display(self, request: HttpRequest) -> Any:
        display = list(super().get_list_display(request))
        if request.user.is_superuser and self._member_tenant(request) is None:
            display.append("tenant")
        return display

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        return _with_tenant(form, self._member_tenant(request))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        tenant = self._member_tenant(request)
        if not change and tenant is not None:
            obj.tenant = tenant
        self.row_save(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, TenantOwnedModel) and instance.tenant_id is None:
                instance.tenant = form.instance.tenant
            self.row_save(request, instance, None, instance.pk is not None)
        for obj in formset.deleted_objects:
            self.delete_model(request, obj)
        formset.save_m2m()

    # The writes, one hook each: an app whose rows have their own services (crm) routes
    # them there by overriding these.

    def row_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Save a row of this admin's form (``form`` None: a row of an inline)."""
        obj.save()

    def rows_restore(self, request: HttpRequest, queryset: SoftDeleteQuerySet) -> int:
        return int(queryset.restore())

    def rows_hard_delete(self, request: HttpRequest, queryset: SoftDeleteQuerySet) -> int:
        return int(queryset.hard_delete()[0])

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Deleting is soft: only the selected rows are marked, nothing cascades.
        perms_needed = set()
        if not self.has_delete_permission(request):
            perms_needed.add(self.model._meta.verbose_name)
        return (
            [str(obj) for obj in objs],
            {self.model._meta.verbose_name_plural: len(objs)},
            perms_needed,
            [],
        )

    @admin.action(description=_("Restore selected deleted rows"), permissions=["change"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = self.rows_restore(
            request, cast(SoftDeleteQuerySet, queryset.filter(is_deleted=True))
        )
        message = ngettext("Restored %(count)s row.", "Restored %(count)s rows.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Delete permanently (operators)"), permissions=["hard_delete"])
    def hard_delete_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = self.rows_hard_delete(request, cast(SoftDeleteQuerySet, queryset))
        message = ngettext(
            "Permanently deleted %(count)s row.", "Permanently deleted %(count)s rows.", count
        )
        self.message_user(request, message % {"count": count}, messages.WARNING)

    def has_hard_delete_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)


class TenantOwnedInline(TenantFieldsMixin, admin.TabularInline):
    form: type[forms.ModelForm[Any]] = TenantOwnedForm
    extra = 0

    def get_exclude(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # An inline row always takes its parent's tenant.
        return [*(super(TenantFieldsMixin, self).get_exclude(request, obj) or []), "tenant"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        tenant = self._member_tenant(request) or (obj.tenant if obj is not None else None)
        formset.form = _with_tenant(formset.form, tenant)
        return formset
