"""The quotes of the sales desk: the list, and the page where a rep reviews a draft, edits its
lines, approves and sends it.

The list shows the reference, the customer and company, the opportunity, a status badge,
the total with its currency, the validity date and who prepared it (the agent or a rep),
filtered by status and by who prepared it, searched by reference (``Q-00042`` or ``42``),
SKU, contact or company.

On the page a draft's lines are edited inline: a SKU (checked against the catalog; the
product's name is shown once it is saved), a quantity and a discount. The unit price and
the line total are always the catalog's: the form has no price field, and the lines are
written by ``quotes.services.quote_lines_set`` only (a kept SKU keeps the price it was
quoted at). Once approved, a quote's lines are read-only. The page's buttons follow the
status (``desk/admin/quote_views.py``): approve a draft, send it (an approved quote, or a
draft, which sending approves), reject, download the PDF. Quotes are never deleted here: a
wrong one is rejected, and the record stays.

Like the crm pages, it lives in the desk (the layer above ``quotes``), so a send can go
through ``desk.services.quote_deliver``; every write is a ``quotes.services`` call.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.audit import Actor, user_display_name
from crm.selectors import audit_trail
from desk.admin import fragments
from desk.admin.opportunities import EMPTY, money_display
from desk.admin.quote_views import QuoteViews, quote_url
from desk.audit import audit_trail_table
from quotes.models import Quote, QuoteLine
from quotes.services import LineRequest, QuoteRefused, quote_lines_set, quote_preview
from tenants.admin_base import ReadOnlyAdminMixin, TenantOwnedAdmin, TenantOwnedInline

REFERENCE = re.compile(r"^\s*q?-?\s*0*(\d{1,9})\s*$", re.IGNORECASE)


def quote_status_badge(quote: Quote) -> str:
    return fragments.quote_badge(quote)


def quote_creator(quote: Quote) -> str:
    if quote.created_by_kind == Quote.CreatedBy.REP:
        user = quote.created_by
        return (user_display_name(user) if user else quote.created_by_name) or gettext("Sales rep")
    return str(quote.get_created_by_kind_display())


class _ChoicesFilter(admin.SimpleListFilter):
    """A filter on a choices field of the quote, titled in the member's language."""

    field = ""
    options: list[tuple[str, Any]] = []

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(self.options)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value not in {key for key, _label in self.options}:
            return queryset.none()
        return queryset.filter(**{self.field: value})


class StatusFilter(_ChoicesFilter):
    title = _("status")
    parameter_name = field = "status"
    options = Quote.Status.choices


class CreatedByFilter(_ChoicesFilter):
    title = _("prepared by")
    parameter_name = field = "created_by_kind"
    options = Quote.CreatedBy.choices


# ---- the lines -----------------------------------------------------------------------


class QuoteLineForm(forms.ModelForm):
    """A draft's line as a rep edits it: SKU, quantity, discount. Never a price."""

    # Not the model's ``sku`` (copied from the product, not editable): what the rep types.
    line_sku = forms.CharField(label=_("SKU"), max_length=128)

    class Meta:
        model = QuoteLine
        fields = ["quantity", "discount_percent"]
        labels = {"quantity": _("Quantity")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial.setdefault("line_sku", self.instance.sku)
        for name, attrs in (
            ("line_sku", {"size": 18, "autocomplete": "off"}),
            ("quantity", {"min": 1}),
        ):
            if name in self.fields:
                self.fields[name].widget.attrs.update(attrs)


class QuoteLineFormSet(BaseInlineFormSet):
    """Checks the lines against the catalog as a whole (one currency, known SKUs) and keeps
    them as ``line_requests`` for ``quote_lines_set``; the formset itself never saves."""

    line_requests: list[LineRequest]

    def clean(self) -> None:
        super().clean()
        if not self.instance.is_editable or any(form.errors for form in self.forms):
            return
        requests = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE") or "line_sku" not in data:
                continue
            requests.append(
                LineRequest(
                    sku=str(data["line_sku"]).strip(),
                    quantity=int(data["quantity"]),
                    discount_percent=data.get("discount_percent") or Decimal("0"),
                )
            )
        try:
            quote_preview(tenant=self.instance.tenant, lines=requests)
        except QuoteRefused as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        self.line_requests = requests


class QuoteLineInline(TenantOwnedInline):
    model = QuoteLine
    form = QuoteLineForm
    formset = QuoteLineFormSet
    fk_name = "quote"
    extra = 0
    verbose_name = _("line")
    verbose_name_plural = _("lines")

    def _editable(self, request: HttpRequest, obj: Any) -> bool:
        return bool(
            isinstance(obj, Quote)
            and obj.is_editable
            and request.user.has_perm("quotes.change_quote")
        )

    # The lines follow the quote's permissions: editable by whoever may change a draft.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("quotes.view_quote"))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(request, obj)

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if self._editable(request, obj) else 0

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if self._editable(request, obj):
            return ["line_sku", "product_name", "quantity", "discount_percent", *self._prices]
        return ["sku", "product_name", "quantity_shown", "discount_percent", *self._prices]

    _prices = ["unit_price_shown", "line_total_shown"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = ["product_name", *self._prices]
        if not self._editable(request, obj):
            readonly += ["sku", "quantity_shown", "discount_percent"]
        return readonly

    @admin.display(description=_("product"))
    def product_name(self, line: QuoteLine) -> str:
        return line.name if line.pk else EMPTY

    @admin.display(description=_("Quantity"))
    def quantity_shown(self, line: QuoteLine) -> int:
        return line.quantity

    @admin.display(description=_("unit price"))
    def unit_price_shown(self, line: QuoteLine) -> str:
        return money_display(line.unit_price, line.quote.currency) if line.pk else EMPTY

    @admin.display(description=_("line total"))
    def line_total_shown(self, line: QuoteLine) -> str:
        return money_display(line.line_total, line.quote.currency) if line.pk else EMPTY


# ---- the quote -----------------------------------------------------------------------


class QuoteForm(forms.ModelForm):
    class Meta:
        model = Quote
        fields = ["notes"]
        labels = {"notes": _("Notes")}
        widgets = {"notes": forms.Textarea(attrs={"rows": 3, "cols": 80})}


@admin.register(Quote)
class QuoteAdmin(TenantOwnedAdmin):
    form = QuoteForm
    inlines = [QuoteLineInline]
    list_display = [
        "reference_link",
        "customer",
        "opportunity_link",
        "status_badge",
        "total_shown",
        "valid_until_shown",
        "creator",
    ]
    list_display_links = None
    list_filter = [StatusFilter, CreatedByFilter]
    list_select_related = ["contact__division__company", "opportunity", "created_by", "tenant"]
    search_fields = [
        "lines__sku",
        "contact__full_name",
        "contact__email",
        "contact__division__company__name",
    ]
    ordering = ["-created_at", "-pk"]
    actions: list[Any] = []
    change_form_template = "desk/quote_change_form.html"

    class Media:
        css = {"all": ["desk/quotes.css"]}

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            (
                None,
                {
                    "fields": [
                        "status_badge",
                        "customer",
                        "opportunity_link",
                        "conversation_link",
                        "totals",
                        "valid_until_shown",
                        "creator",
                        "approval",
                        "notes",
                    ]
                },
            ),
            (_("History"), {"fields": ["history"], "classes": ["collapse"]}),
            (
                _("Record"),
                {
                    "fields": ["sent_when", "accepted_when", "rejected_when"],
                    "classes": ["collapse"],
                },
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = [
            *super().get_readonly_fields(request, obj),
            "status_badge",
            "customer",
            "opportunity_link",
            "conversation_link",
            "totals",
            "valid_until_shown",
            "creator",
            "approval",
            "history",
            "sent_when",
            "accepted_when",
            "rejected_when",
        ]
        if not (isinstance(obj, Quote) and obj.is_editable):
            readonly.append("notes")
        return readonly

    # Quotes come from the agent, the API or "Prepare a quote" on an opportunity; they are
    # rejected, never deleted.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> Any:
        return {}

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """Also by reference: "Q-00042", "q42" or "42"."""
        found, distinct = super().get_search_results(request, queryset, search_term)
        match = REFERENCE.match(search_term or "")
        if match is None:
            return found, distinct
        return found | queryset.filter(number=int(match.group(1))), True

    # ---- columns and fields --------------------------------------------------------

    @admin.display(description=_("quote"), ordering="number")
    def reference_link(self, obj: Quote) -> str:
        return format_html('<a href="{}">{}</a>', quote_url(obj, "change"), obj.reference)

    @admin.display(description=_("customer"), ordering="contact__full_name")
    def customer(self, obj: Quote) -> str:
        contact = obj.contact
        name = contact.full_name or contact.email or str(contact)
        company = contact.company
        if company is None:
            return name
        return format_html('{}<span class="desk-sub">{}</span>', name, company.name)

    @admin.display(description=_("opportunity"))
    def opportunity_link(self, obj: Quote) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:crm_leadopportunity_change", args=[obj.opportunity_id]),
            obj.opportunity,
        )

    @admin.display(description=_("conversation"))
    def conversation_link(self, obj: Quote) -> str:
        return fragments.conversation_link(obj.conversation_id)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Quote) -> str:
        return quote_status_badge(obj)

    @admin.display(description=_("total"), ordering="total")
    def total_shown(self, obj: Quote) -> str:
        return money_display(obj.total, obj.currency)

    @admin.display(description=_("totals"))
    def totals(self, obj: Quote) -> str:
        return fragments.render(
            "quote_totals",
            {
                "subtotal": money_display(obj.subtotal, obj.currency),
                "tax_rate": obj.tax_rate.normalize(),
                "tax": money_display(obj.tax_amount, obj.currency),
                "total": money_display(obj.total, obj.currency),
            },
        )

    @admin.display(description=_("valid until"), ordering="valid_until")
    def valid_until_shown(self, obj: Quote) -> str:
        return date_format(obj.valid_until, "SHORT_DATE_FORMAT")

    @admin.display(description=_("prepared by"), ordering="created_by_kind")
    def creator(self, obj: Quote) -> str:
        return quote_creator(obj)

    @admin.display(description=_("approved"))
    def approval(self, obj: Quote) -> str:
        if obj.approved_at is None:
            return EMPTY
        who = user_display_name(obj.approved_by) if obj.approved_by else EMPTY
        when = date_format(obj.approved_at, "SHORT_DATETIME_FORMAT")
        return f"{who} · {when}"

    def _when(self, value: Any) -> str:
        return date_format(value, "SHORT_DATETIME_FORMAT") if value else EMPTY

    @admin.display(description=_("sent"))
    def sent_when(self, obj: Quote) -> str:
        return self._when(obj.sent_at)

    @admin.display(description=_("accepted"))
    def accepted_when(self, obj: Quote) -> str:
        return self._when(obj.accepted_at)

    @admin.display(description=_("rejected"))
    def rejected_when(self, obj: Quote) -> str:
        return self._when(obj.rejected_at)

    @admin.display(description=_("audit trail"))
    def history(self, obj: Quote) -> str:
        """The quote's entries of its opportunity's audit trail: who prepared, edited,
        approved, sent it, and the customer's answer."""
        entries = [
            entry
            for entry in audit_trail(opportunity=obj.opportunity)
            if entry.action.startswith("quotes.quote.") and entry.note == obj.reference
        ]
        return audit_trail_table(entries)

    # ---- saving: the lines through quotes.services only ----------------------------

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing here: ``save_related`` writes the notes and lines in one service call."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Never: the formset's rows are ``quote_lines_set``'s input."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        quote: Quote = form.instance
        lines = next((f for f in formsets if isinstance(f, QuoteLineFormSet)), None)
        if not quote.is_editable or lines is None or not hasattr(lines, "line_requests"):
            return
        if not (lines.has_changed() or form.has_changed()):
            return
        try:
            quote_lines_set(
                quote=quote,
                lines=lines.line_requests,
                actor=Actor.rep(request.user),
                notes=form.cleaned_data.get("notes"),
            )
        except QuoteRefused as exc:
            request._quote_refused = exc.message  # type: ignore[attr-defined]

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        return [{"changed": {"fields": ["lines"]}}]

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        refused = getattr(request, "_quote_refused", None)
        if refused:
            self.message_user(request, refused, messages.ERROR)
            return HttpResponseRedirect(quote_url(obj, "change"))
        self.message_user(request, gettext("Quote %(ref)s saved.") % {"ref": obj.reference})
        return HttpResponseRedirect(quote_url(obj, "change"))

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        if obj is not None:
            context["desk"] = QuoteViews(self).page_context(request, obj)
            editable = obj.is_editable and self.has_change_permission(request, obj)
            context.update(
                show_save=editable,
                show_save_and_add_another=False,
                show_save_and_continue=False,
                show_delete=False,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        return [*QuoteViews(self).urls(), *super().get_urls()]


@admin.register(QuoteLine)
class QuoteLineAdmin(ReadOnlyAdminMixin, TenantOwnedAdmin):
    """A quote's lines, read-only (edited on the quote's page); not in the desk's index."""

    list_display = ["quote", "sku", "name", "quantity", "unit_price", "line_total"]
    list_select_related = ["quote"]
    search_fields = ["sku", "name"]
    actions: list[Any] = []

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False
