from __future__ import annotations

from django.contrib import admin

from crm.models import (
    Company,
    CompanyDivision,
    Contact,
    Conversation,
    Message,
    OpportunityProductRecommendation,
)
from tenants.admin_base import TenantOwnedAdmin, TenantOwnedInline


class DivisionInline(TenantOwnedInline):
    model = CompanyDivision
    fields = ["name", "crm_division_id"]


@admin.register(Company)
class CompanyAdmin(TenantOwnedAdmin):
    list_display = ["name", "fiscal_id", "crm_company_id", "created_at"]
    search_fields = ["name", "fiscal_id", "crm_company_id"]
    inlines = [DivisionInline]


@admin.register(CompanyDivision)
class CompanyDivisionAdmin(TenantOwnedAdmin):
    list_display = ["name", "company", "crm_division_id"]
    list_select_related = ["company"]
    search_fields = ["name", "company__name", "crm_division_id"]
    autocomplete_fields = ["company"]


@admin.register(Contact)
class ContactAdmin(TenantOwnedAdmin):
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


class MessageInline(TenantOwnedInline):
    model = Message
    fields = ["created_at", "role", "content", "delivery_status", "external_id"]
    readonly_fields = ["created_at", "role", "content", "delivery_status", "external_id"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Conversation)
class ConversationAdmin(TenantOwnedAdmin):
    list_display = [
        "__str__",
        "channel",
        "status",
        "intent_category",
        "assigned_rep",
        "last_activity_at",
    ]
    list_filter = ["status", "channel", "intent_category"]
    list_select_related = ["contact", "assigned_rep"]
    search_fields = ["contact__full_name", "contact__email", "contact__platform_user_id"]
    autocomplete_fields = ["contact"]
    date_hierarchy = "last_activity_at"
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(TenantOwnedAdmin):
    list_display = ["__str__", "conversation", "role", "delivery_status", "created_at"]
    list_filter = ["role", "delivery_status"]
    list_select_related = ["conversation__contact"]
    search_fields = ["content", "external_id"]
    autocomplete_fields = ["conversation"]


# The lead opportunity's admin is the sales desk's page: desk/admin/opportunities.py.


@admin.register(OpportunityProductRecommendation)
class RecommendationAdmin(TenantOwnedAdmin):
    list_display = ["product_sku", "product_name", "opportunity", "created_at"]
    list_select_related = ["opportunity"]
    search_fields = ["product_sku", "product_name", "justification"]
    autocomplete_fields = ["opportunity"]
