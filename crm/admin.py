from __future__ import annotations

from django.contrib import admin

from crm.admin_base import CrmRecordAdmin
from crm.models import (
    AuditEntry,
    Company,
    CompanyDivision,
    Contact,
    OpportunityProductRecommendation,
)
from tenants.admin_base import ReadOnlyAdminMixin, TenantOwnedInline


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
