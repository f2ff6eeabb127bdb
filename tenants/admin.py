from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tenants.admin_base import NotFoundMixin, TenantOwnedAdmin
from tenants.branding import LOGO_ACCEPT
from tenants.models import Membership, Tenant
from tenants.services import (
    member_ensure,
    member_invite,
    member_refusal,
    membership_set_role,
    tenant_update,
)
from tenants.wording_form import TenantForm, wording_fieldsets

# The tenant's quote settings (a fieldset of their own); left out of a post, the two
# numbers keep their values, as the formality does.
QUOTE_SETTINGS = ["quote_tax_rate", "quote_validity_days", "quotes_send_without_approval"]
KEPT_WHEN_OMITTED = ("quote_tax_rate", "quote_validity_days")


class TenantSettingsForm(TenantForm):  # type: ignore[valid-type,misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in KEPT_WHEN_OMITTED:
            if name in self.fields:
                self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        for name in KEPT_WHEN_OMITTED:
            if name in self.data and cleaned.get(name) is None and name not in self.errors:
                self.add_error(name, forms.ValidationError(gettext("This field is required.")))
        return cleaned


@admin.register(Tenant)
class TenantAdmin(NotFoundMixin, admin.ModelAdmin):
    form = TenantSettingsForm  # the fallback wording as one text box per text (wording_form)
    list_display = ["name", "slug", "is_active", "default_language", "created_at"]
    list_filter = ["is_active", "default_language"]
    search_fields = ["name", "slug"]
    fields = [
        "name",
        "slug",
        "is_active",
        "default_language",
        "formality",
        "persona",
        "sales_instructions",
        "logo",
        "logo_preview",
        "two_factor_required",
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            return queryset.filter(pk=tenant.pk)
        return queryset if request.user.is_superuser else queryset.none()

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        quotes = (
            _("Quotes"),
            {
                "fields": [*QUOTE_SETTINGS, "quote_terms"],
                "description": _(
                    "New quotes take the tax rate and the validity; the terms are printed on "
                    "every quote's PDF."
                ),
            },
        )
        return [(None, {"fields": self.fields}), quotes, *wording_fieldsets()]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return ["slug", "logo_preview"] if obj else ["logo_preview"]
        return ["slug", "is_active", "logo_preview"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "logo":
            kwargs["widget"] = forms.ClearableFileInput(attrs={"accept": LOGO_ACCEPT})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("current logo"))
    def logo_preview(self, obj: Tenant) -> str:
        if not obj.logo:
            return gettext("No logo: the header shows the name only.")
        return format_html(
            '<img src="{}" alt="{}" style="max-height:64px;max-width:240px">',
            obj.logo_url,
            gettext("%(name)s logo") % {"name": obj.name},
        )

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        previous = ""
        if change:
            previous = Tenant.objects.filter(pk=obj.pk).values_list("logo", flat=True).first() or ""
        tenant_update(tenant=obj, previous_logo=previous)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


class MemberAddForm(forms.ModelForm):
    """Adds a staff user to the tenant by email: a new user, or an existing one who
    belongs to no tenant (``member_refusal``). Nobody types a password here: a new user
    gets a one-time set-password link (shown once and e-mailed), and an existing user
    keeps theirs."""

    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(
        label=_("Full name"), required=False, help_text=_("For a new user.")
    )
    scope_tenant = None

    class Meta:
        model = Membership
        fields = ["role"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # a ModelForm's clean() returns its cleaned_data
        tenant = self.scope_tenant or cleaned.get("tenant")
        if tenant is not None and cleaned.get("email"):
            refusal = member_refusal(tenant=tenant, email=cleaned["email"])
            if refusal:
                raise forms.ValidationError(refusal)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(TenantOwnedAdmin):
    list_display = ["user_email", "user_name", "role", "language", "is_deleted", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    actions = [*TenantOwnedAdmin.actions, "send_password_link"]

    @admin.display(description=_("email"), ordering="user__email")
    def user_email(self, obj: Membership) -> str:
        return obj.user.email

    @admin.display(description=_("name"))
    def user_name(self, obj: Membership) -> str:
        return obj.user.get_full_name()

    def _may_manage(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return True
        membership = getattr(request, "membership", None)
        return membership is not None and membership.is_tenant_admin

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may_manage(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_manage(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may_manage(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_manage(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.user_id == request.user.pk:
            return False  # an admin cannot lock themselves out
        return self._may_manage(request) and super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if any(obj.user_id == request.user.pk for obj in objs):
            # The bulk action too: one's own membership is never deleted by oneself.
            perms_needed.add(gettext("your own membership"))
        return deleted, counts, perms_needed, protected

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            fields = ["email", "full_name", "role"]
            if request.user.is_superuser and getattr(request, "tenant", None) is None:
                fields.insert(0, "tenant")
            return fields
        return ["user", "role", "language", "is_deleted", "deleted_at", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("user")
            if obj.user_id == request.user.pk:
                readonly.append("role")  # nor demoted by oneself: another admin does that
        return readonly

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        if obj is None:
            tenant = getattr(request, "tenant", None)
            fields = ["role"] + (["tenant"] if tenant is None else [])
            return type(
                "MemberAddForm",
                (MemberAddForm,),
                {
                    "scope_tenant": tenant,
                    "Meta": type("Meta", (), {"model": Membership, "fields": fields}),
                },
            )
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if change:
            if "role" in form.changed_data:
                membership_set_role(membership=obj, role=obj.role)
            return super().save_model(request, obj, form, change)
        tenant = form.scope_tenant or form.cleaned_data["tenant"]
        membership, result = member_ensure(
            tenant=tenant,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            full_name=form.cleaned_data.get("full_name", ""),
        )
        # The admin logs and redirects with the object it built; make it the saved row.
        obj.pk, obj.user, obj.tenant = membership.pk, membership.user, membership.tenant
        if result.created or "membership" in result.changed:
            self._invite(request, membership, show_link=result.created)

    def _invite(self, request: HttpRequest, membership: Membership, *, show_link: bool) -> None:
        link = member_invite(membership=membership)
        email = membership.user.email
        if link and show_link:
            messages.warning(
                request,
                gettext(
                    "%(email)s was e-mailed a link to choose their password. If it does not "
                    "arrive, pass this one on (it works once): %(link)s"
                )
                % {"email": email, "link": link},
            )
        elif link:
            messages.info(
                request,
                gettext("%(email)s was e-mailed a link to choose their password.")
                % {"email": email},
            )
        else:
            messages.info(
                request,
                gettext(
                    "%(email)s already had an account: it keeps its password, and was told by "
                    "e-mail that it now belongs to this tenant."
                )
                % {"email": email},
            )

    @admin.action(
        description=_("E-mail a new set-password link (members without a password)"),
        permissions=["change"],
    )
    def send_password_link(self, request: HttpRequest, queryset: Any) -> None:
        """For members who never chose a password (the first link expired or got lost)."""
        for membership in queryset.select_related("user", "tenant"):
            if membership.user.has_usable_password():
                messages.error(
                    request,
                    gettext(
                        "%(email)s has a password already: they can sign in "
                        "(nobody but them changes it)."
                    )
                    % {"email": membership.user.email},
                )
                continue
            self._invite(request, membership, show_link=True)
