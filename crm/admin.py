from __future__ import annotations

from django.contrib import admin

from crm.models import (
    Company,
    CompanyDivision,
    Contact,
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


# Conversations and messages are the sales desk's inbox: desk/admin/conversations.py.
# The lead opportunity's admin is the sales desk's page: desk/admin/opportunities.py.


@admin.register(OpportunityProductRecommendation)
class RecommendationAdmin(TenantOwnedAdmin):
    list_display = ["product_sku", "product_name", "opportunity", "created_at"]
    list_select_related = ["opportunity"]
    search_fields = ["product_sku", "product_name", "justification"]
    autocomplete_fields = ["opportunity"]
