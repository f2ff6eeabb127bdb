from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crm.admin_base import CrmRecordAdmin
from crm.audit import Actor
from crm.models import (
    AuditEntry,
    Company,
    CompanyDivision,
    Contact,
    OpportunityProductRecommendation,
)
from crm.services import contact_erase, contact_export
from tenants.admin_base import ReadOnlyAdminMixin, TenantOwnedInline
from tenants.selectors import membership_for_user


class DivisionInline(TenantOwnedInline):
    model = CompanyDivision
    fields = ["name", "crm_division_id"]


@admin.register(Company)
class CompanyAdmin(CrmRecordAdmin):
    list_display = ["name", "fiscal_id", "crm_company_id", "created_at"]
    search_fields = ["name", "fiscal_id", "crm_company_id"]
    inlines = [DivisionInline]


@admin.register(CompanyDivision)
class CompanyDivisionAdmin(CrmRecordAdmin):
    list_display = ["name", "company", "crm_division_id"]
    list_select_related = ["company"]
    search_fields = ["name", "company__name", "crm_division_id"]
    autocomplete_fields = ["company"]


@admin.register(Contact)
class ContactAdmin(CrmRecordAdmin):
    list_display = ["__str__", "email", "phone_number", "division", "platform", "created_at"]
    list_filter = ["platform"]
    list_select_related = ["division__company"]
    search_fields = [
        "full_name",
        "email",
        "phone_number",
        "crm_contact_id",
        "platform_user_id",
        "division__name",
        "division__company__name",
    ]
    autocomplete_fields = ["division"]
    actions = [*CrmRecordAdmin.actions, "export_personal_data", "erase_personal_data"]

    def has_gdpr_permission(self, request: HttpRequest) -> bool:
        """Exports and erasures are for the tenant's admins (and operators)."""
        membership = membership_for_user(user=request.user)
        return bool(
            request.user.is_superuser or (membership is not None and membership.is_tenant_admin)
        )

    @admin.action(description=_("Export personal data (GDPR, JSON)"), permissions=["gdpr"])
    def export_personal_data(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        actor = Actor.rep(request.user)
        data = [contact_export(contact=contact, actor=actor) for contact in queryset]
        body = json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2)
        name = f"contact-{data[0]['contact']['id']}" if len(data) == 1 else "contacts"
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response

    @admin.action(description=_("Erase personal data (GDPR)"), permissions=["gdpr"])
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        contacts = list(queryset)
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/crm/contact/erase_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Erase personal data?"),
                    "opts": self.model._meta,
                    "contacts": contacts,
                    "action": "erase_personal_data",
                    "selected": [c.pk for c in contacts],
                },
            )
        actor = Actor.rep(request.user)
        for contact in contacts:
            contact_erase(contact=contact, actor=actor)
        erased = ngettext(
            "Erased the personal data of %(count)s contact.",
            "Erased the personal data of %(count)s contacts.",
            len(contacts),
        )
        self.message_user(request, erased % {"count": len(contacts)}, messages.SUCCESS)
        return None


# Conversations and messages are the sales desk's inbox: desk/admin/conversations.py.
# The lead opportunity's admin is the sales desk's page: desk/admin/opportunities.py.


@admin.register(OpportunityProductRecommendation)
class RecommendationAdmin(CrmRecordAdmin):
    list_display = ["product_sku", "product_name", "opportunity", "created_at"]
    list_select_related = ["opportunity"]
    search_fields = ["product_sku", "product_name", "justification"]
    autocomplete_fields = ["opportunity"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, CrmRecordAdmin):
    """The CRM's audit trail: read-only, written by the CRM's services."""

    list_display = [
        "created_at",
        "action",
        "actor_kind",
        "actor_name",
        "opportunity",
        "conversation",
        "contact",
        "from_value",
        "to_value",
    ]
    list_filter = ["action", "actor_kind"]
    list_select_related = ["opportunity", "conversation__contact", "contact", "tenant"]
    search_fields = ["from_value", "to_value", "actor_name", "note"]
    readonly_fields = [
        "action",
        "actor_kind",
        "actor",
        "actor_name",
        "opportunity",
        "conversation",
        "contact",
        "from_value",
        "to_value",
        "changes",
        "note",
    ]
