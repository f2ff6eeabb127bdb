"""The opportunities page of the sales desk: where reps and tenant admins work their leads.

The list shows who, which company, what they need, how many products the agent
recommended, and the deal: its value (in the member's number notation, "3.450,00 EUR" in
Spanish, "EUR 3,450.00" in English), expected close date (overdue ones marked, filtered by
"this month" and "overdue") and next step. Reps edit the deal on the page, which shows the
recommendations, the whole conversation (the transcript of ``desk/transcript.py``), the
CRM's ids and metadata, and the audit trail; the HTML of its fields is
``desk/admin/fragments.py``'s templates. Every change made on the page (the deal, status,
assignment) goes through the CRM services, which record who made it and when; the CSV
export is ``desk/csv_export.py``'s, in the member's spreadsheet convention.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import numberformat, timezone
from django.utils.formats import date_format, get_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crm.admin_base import CrmRecordAdmin
from crm.audit import Actor
from crm.models import LeadOpportunity, Message, OpportunityProductRecommendation
from crm.selectors import audit_trail
from crm.services import opportunity_assign, opportunity_status_set
from desk.admin import fragments
from desk.audit import audit_trail_table
from desk.csv_export import opportunities_csv
from desk.transcript import transcript_rows, transcript_table
from tenants.admin_base import TenantOwnedForm, TenantOwnedInline
from tenants.csv_export import csv_format_for
from tenants.models import Membership
from tenants.selectors import tenant_members

EMPTY = "—"
# Languages that write the currency after the amount ("3.450,00 EUR").
CURRENCY_AFTER = ("es", "pt", "fr", "de", "it")


def money_display(value: Decimal | None, currency: str) -> str:
    """The amount grouped and with two decimals in the active language's notation, with its
    currency where that language puts it: "3.450,00 EUR" in Spanish, "EUR 3,450.00" in
    English (groups of thousands by a dot where the decimal is a comma, as Spanish
    spreadsheets show money; a non-breaking space keeps it on one line)."""
    if value is None:
        return EMPTY
    decimal_sep = get_format("DECIMAL_SEPARATOR")
    amount = numberformat.format(
        value,
        decimal_sep,
        decimal_pos=2,
        grouping=3,
        thousand_sep="." if decimal_sep == "," else ",",
        force_grouping=True,
    )
    if not currency:
        return amount
    language = (get_language() or "").split("-", 1)[0]
    return f"{amount}\xa0{currency}" if language in CURRENCY_AFTER else f"{currency}\xa0{amount}"


def _user_label(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _status_label(value: str) -> str:
    if value in LeadOpportunity.Status.values:
        return str(LeadOpportunity.Status(value).label)
    return value


class AssignedRepFilter(admin.SimpleListFilter):
    """The tenant's members only (never another tenant's users), and the unassigned."""

    title = _("assigned rep")
    parameter_name = "rep"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            users = [(u, _user_label(u)) for u in tenant_members(tenant=tenant)]
        elif request.user.is_superuser:
            # Operators see every tenant: every member, labelled with their tenant.
            members = Membership.objects.select_related("user", "tenant").filter(
                user__is_active=True
            )
            users = [(m.user, f"{_user_label(m.user)} ({m.tenant.name})") for m in members]
        else:
            users = []
        return [("none", gettext("Unassigned")), *((str(u.pk), label) for u, label in users)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value == "none":
            return queryset.filter(assigned_rep__isnull=True)
        if value not in {key for key, _ in self.lookup_choices}:
            return queryset.none()
        return queryset.filter(assigned_rep_id=int(value))


class ExpectedCloseFilter(admin.SimpleListFilter):
    """When the deal is expected to close: this month, overdue (the date passed and the
    opportunity is not closed), or no date yet."""

    title = _("expected close")
    parameter_name = "closes"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("month", _("This month")),
            ("overdue", _("Overdue")),
            ("none", _("No date")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        today = timezone.localdate()
        value = self.value()
        if value == "month":
            return queryset.filter(
                expected_close_date__year=today.year, expected_close_date__month=today.month
            )
        if value == "overdue":
            return queryset.filter(expected_close_date__lt=today).exclude(
                status=LeadOpportunity.Status.CLOSED
            )
        if value == "none":
            return queryset.filter(expected_close_date__isnull=True)
        return queryset


class OpportunityForm(TenantOwnedForm):
    """The value is typed in the member's notation ("3450,50" in Spanish); the currency is
    an ISO code, required with a value."""

    class Meta:
        model = LeadOpportunity
        fields = "__all__"
        localized_fields = ["value"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "value" in self.fields:
            self.fields["value"].help_text = _("The expected deal value, in its currency.")

    def clean_value(self) -> Decimal | None:
        value = self.cleaned_data.get("value")
        if value is not None and value < 0:
            raise forms.ValidationError(gettext("The value cannot be negative."))
        return value.quantize(Decimal("0.01")) if value is not None else None

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            raise forms.ValidationError(
                gettext("Use a three-letter ISO 4217 code, such as EUR or USD.")
            )
        return currency

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("value") is not None and not cleaned.get("currency"):
            self.add_error("currency", gettext("Give the currency of the value."))
        return cleaned


class RecommendationInline(TenantOwnedInline):
    """What the agent recommended, as it recorded it (edit a row from its own page)."""

    model = OpportunityProductRecommendation
    fields = ["product_sku", "product_link", "justification"]
    readonly_fields = ["product_sku", "product_link", "justification"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("product")

    @admin.display(description=_("product"))
    def product_link(self, obj: OpportunityProductRecommendation) -> str:
        return fragments.product_link(obj)


@admin.register(LeadOpportunity)
class LeadOpportunityAdmin(CrmRecordAdmin):
    form = OpportunityForm
    list_display = [
        "status",
        "contact_name",
        "problem",
        "recommendation_count",
        "deal_value",
        "expected_close",
        "next_step_short",
        "assigned_rep_name",
        "age",
    ]
    list_display_links = ["status", "problem"]
    # Explicit: a GROUP BY query (the recommendation count) ignores Meta.ordering.
    ordering = ["-created_at", "-pk"]
    list_filter = [
        "status",
        AssignedRepFilter,
        ExpectedCloseFilter,
        "conversation__channel",
        "created_at",
    ]
    list_select_related = ["contact__division__company", "assigned_rep", "tenant"]
    search_fields = [
        "contact__full_name",
        "contact__email",
        "contact__division__company__name",
        "recommendations__product_sku",
        "problem_statement",
    ]
    autocomplete_fields = ["contact", "conversation"]
    inlines = [RecommendationInline]
    readonly_fields = [
        "crm_opportunity_id",
        "crm_ids",
        "crm_metadata",
        "conversation_link",
        "transcript",
        "audit_trail",
        "quote_list",
    ]
    change_form_template = "admin/crm/leadopportunity/change_form.html"

    class Media:
        css = {"all": ["desk/opportunities.css", "desk/quotes.css"]}

    actions = [
        "assign_to_me",
        "move_to_needs_expert",
        "move_to_closed",
        "export_csv",
        *CrmRecordAdmin.actions,
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                recommendations_total=Count(
                    "recommendations",
                    filter=Q(recommendations__is_deleted=False),
                    distinct=True,
                )
            )
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main = ["contact", "conversation", "status", "assigned_rep", "problem_statement"]
        if request.user.is_superuser and self._member_tenant(request) is None:
            main.insert(0, "tenant")
        deal = (
            _("Deal"),
            {"fields": [("value", "currency"), "expected_close_date", "next_step"]},
        )
        if obj is None:
            return [(None, {"fields": main}), deal]
        return [
            (None, {"fields": main}),
            deal,
            (_("Quotes"), {"fields": ["quote_list"]}),
            ("CRM", {"fields": ["crm_opportunity_id", "crm_ids", "crm_metadata"]}),
            (_("Conversation"), {"fields": ["conversation_link", "transcript"]}),
            (_("History"), {"fields": ["audit_trail"]}),
            (
                _("Record"),
                {
                    "fields": ["created_at", "updated_at", "is_deleted", "deleted_at"],
                    "classes": ["collapse"],
                },
            ),
        ]

    # ---- list columns -------------------------------------------------------------

    @admin.display(description=_("contact"), ordering="contact__full_name")
    def contact_name(self, obj: LeadOpportunity) -> str:
        """The contact, with their company and division under the name (one column for
        both keeps the row within a 1,400 px screen)."""
        contact = obj.contact
        name = contact.full_name or contact.email or str(contact)
        division = contact.division
        if division is None:
            return name
        return format_html(
            '{}<span class="desk-sub">{} / {}</span>', name, division.company.name, division.name
        )

    @admin.display(description=_("problem statement"))
    def problem(self, obj: LeadOpportunity) -> str:
        return Truncator(obj.problem_statement).chars(70)

    @admin.display(description=_("products"), ordering="recommendations_total")
    def recommendation_count(self, obj: LeadOpportunity) -> int:
        """How many products the agent recommended."""
        return obj.recommendations_total  # type: ignore[attr-defined]

    @admin.display(description=_("value"), ordering="value")
    def deal_value(self, obj: LeadOpportunity) -> str:
        return money_display(obj.value, obj.currency)

    @admin.display(description=_("expected close"), ordering="expected_close_date")
    def expected_close(self, obj: LeadOpportunity) -> str:
        close: date | None = obj.expected_close_date
        if close is None:
            return EMPTY
        shown = date_format(close, "SHORT_DATE_FORMAT")
        if close < timezone.localdate() and obj.status != LeadOpportunity.Status.CLOSED:
            return format_html(
                '<span class="desk-overdue" title="{}">{}</span>', gettext("Overdue"), shown
            )
        return shown

    @admin.display(description=_("next step"))
    def next_step_short(self, obj: LeadOpportunity) -> str:
        return Truncator(obj.next_step).chars(40) or EMPTY

    @admin.display(description=_("assigned rep"), ordering="assigned_rep__email")
    def assigned_rep_name(self, obj: LeadOpportunity) -> str:
        return _user_label(obj.assigned_rep) or EMPTY

    @admin.display(description=_("age"), ordering="-created_at")
    def age(self, obj: LeadOpportunity) -> str:
        return timesince(obj.created_at, depth=1)

    # ---- the page -----------------------------------------------------------------

    @admin.display(description=_("CRM ids"))
    def crm_ids(self, obj: LeadOpportunity) -> str:
        return fragments.crm_ids(obj.contact)

    def _messages(self, obj: LeadOpportunity) -> list[Message]:
        """The conversation's messages, read once for the metadata and the transcript."""
        cached: list[Message] | None = getattr(obj, "_desk_messages", None)
        if cached is None:
            conversation = obj.conversation
            cached = list(conversation.messages.all()) if conversation is not None else []
            obj._desk_messages = cached  # type: ignore[attr-defined]
        return cached

    @admin.display(description=_("metadata the CRM passed"))
    def crm_metadata(self, obj: LeadOpportunity) -> str:
        return fragments.crm_metadata(self._messages(obj))

    @admin.display(description=_("open"))
    def conversation_link(self, obj: LeadOpportunity) -> str:
        """The conversation's own page, where a rep takes it over and replies."""
        return fragments.conversation_link(obj.conversation_id)

    @admin.display(description=_("transcript"))
    def transcript(self, obj: LeadOpportunity) -> str:
        if obj.conversation is None:
            return gettext("No conversation.")
        rows = transcript_rows(obj.conversation, messages=self._messages(obj), customer=obj.contact)
        return transcript_table(rows)

    @admin.display(description=_("audit trail"))
    def audit_trail(self, obj: LeadOpportunity) -> str:
        return audit_trail_table(audit_trail(opportunity=obj))

    @admin.display(description=_("quotes"))
    def quote_list(self, obj: LeadOpportunity) -> str:
        """The opportunity's quotes (its bar's "Prepare a quote" makes one)."""
        return fragments.quote_links(obj.quotes.order_by("-created_at", "-pk"))

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        if obj is not None and request.user.has_perm("quotes.add_quote"):
            context["prepare_quote_url"] = reverse("admin:quotes_quote_prepare", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    # ---- writes go through the services ---------------------------------------------

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        if self._member_tenant(request) is None:
            self.message_user(
                request,
                gettext("Only a member of the tenant can take opportunities."),
                messages.ERROR,
            )
            return
        count = 0
        me = request.user
        for opportunity in queryset:
            try:
                if opportunity_assign(opportunity=opportunity, rep=me, actor=Actor.rep(me)):
                    count += 1
            except ValidationError as exc:
                self.message_user(request, f"{opportunity}: {exc.messages[0]}", messages.ERROR)
        assigned = ngettext(
            "Assigned %(count)s opportunity to you.",
            "Assigned %(count)s opportunities to you.",
            count,
        )
        self.message_user(request, assigned % {"count": count}, messages.SUCCESS)

    def _move(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        count = sum(
            1
            for opportunity in queryset
            if opportunity_status_set(
                opportunity=opportunity, status=status, actor=Actor.rep(request.user)
            )
        )
        label = _status_label(status)
        moved = ngettext(
            "Moved %(count)s opportunity to “%(status)s”.",
            "Moved %(count)s opportunities to “%(status)s”.",
            count,
        )
        self.message_user(request, moved % {"count": count, "status": label}, messages.SUCCESS)

    @admin.action(description=_("Move to “Needs an expert”"), permissions=["change"])
    def move_to_needs_expert(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, LeadOpportunity.Status.NEEDS_EXPERT)

    @admin.action(description=_("Move to “Closed”"), permissions=["change"])
    def move_to_closed(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, LeadOpportunity.Status.CLOSED)

    # ---- CSV ----------------------------------------------------------------------

    @admin.action(description=_("Export selected as CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return opportunities_csv(
            queryset, filename="opportunities.csv", csv_format=csv_format_for(request)
        )

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/export.csv",
                self.admin_site.admin_view(self.export_one_view),
                name="crm_leadopportunity_export",
            ),
            *super().get_urls(),
        ]

    def export_one_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))  # another tenant's: 404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return opportunities_csv(
            self.get_queryset(request).filter(pk=obj.pk),
            filename=f"opportunity-{obj.pk}.csv",
            csv_format=csv_format_for(request),
        )
