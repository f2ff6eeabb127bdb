"""The quote page's actions and "Prepare a quote" from an opportunity.

The buttons follow the quote's status: approve (a draft), send (an approved quote, or a
draft, which sending approves: ``desk.services.quote_deliver`` stores the reply carrying
the quote and delivers it after the commit on the conversation's channel), reject (a
quote not yet answered), download the PDF (``quotes.pdf.quote_pdf_render``). A refusal
(``QuoteRefused``: past its validity, not a draft any more…) is shown as the page's
message; nothing is written.

"Prepare a quote" (``admin:quotes_quote_prepare``, from the opportunity's page) asks only
for SKUs and quantities, prefilled with the SKUs the agent recommended; the draft is made
by ``quotes.services.quote_prepare`` as the rep, with the catalog's prices.

Every view finds its object through the admins (another tenant's is a 404) and checks the
member's permission server-side. URL names: ``admin:quotes_quote_<approve|send|reject|pdf>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.forms import formset_factory
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.audit import Actor
from crm.models import LeadOpportunity
from desk.services import quote_deliver
from quotes.models import Quote
from quotes.services import (
    MAX_QUANTITY,
    LineRequest,
    QuoteRefused,
    quote_approve,
    quote_prepare,
    quote_reject,
)

Status = Quote.Status
ACTIONS = ("approve", "send", "reject")
PREPARE_ROWS = 3  # empty rows under the recommended SKUs
CHANGE = "quotes.change_quote"
ADD = "quotes.add_quote"


def quote_url(quote: Quote, name: str) -> str:
    return reverse(f"admin:quotes_quote_{name}", args=[quote.pk])


def prepare_url(opportunity: LeadOpportunity) -> str:
    return reverse("admin:quotes_quote_prepare", args=[opportunity.pk])


class PrepareLineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=128, required=False)
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("sku") and not data.get("quantity") and "quantity" not in self.errors:
            self.add_error("quantity", gettext("How many?"))
        return data


PrepareLines = formset_factory(PrepareLineForm, extra=0)


class PrepareNotesForm(forms.Form):
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown on the quote, under the lines."),
    )


class QuoteViews:
    """The action views of the quote admin (``desk.admin.quotes.QuoteAdmin``)."""

    def __init__(self, model_admin: Any) -> None:
        self.model_admin = model_admin

    def urls(self) -> list[URLPattern]:
        site = self.model_admin.admin_site

        def route(suffix: str, view: Callable[..., HttpResponse], name: str) -> URLPattern:
            return path(suffix, site.admin_view(view), name=f"quotes_quote_{name}")

        return [
            route("<path:object_id>/approve/", self.approve_view, "approve"),
            route("<path:object_id>/send/", self.send_view, "send"),
            route("<path:object_id>/reject/", self.reject_view, "reject"),
            route("<path:object_id>/pdf/", self.pdf_view, "pdf"),
            route("prepare/<path:opportunity_id>/", self.prepare_view, "prepare"),
        ]

    def page_context(self, request: HttpRequest, obj: Quote) -> dict[str, Any]:
        """The page's bar: what the status means and the buttons the member may use."""
        may = self.model_admin.has_change_permission(request, obj)
        draft = obj.status == Status.DRAFT
        states: dict[str, str] = {
            Status.DRAFT: gettext("Draft: check the lines, then approve or send it."),
            Status.APPROVED: gettext("Approved: ready to be sent to the customer."),
            Status.SENT: gettext("Sent: waiting for the customer's answer."),
            Status.ACCEPTED: gettext("Accepted by the customer."),
            Status.REJECTED: gettext("Rejected."),
            Status.EXPIRED: gettext("Expired."),
        }
        conversation = obj.conversation
        channel = conversation.get_channel_display() if conversation is not None else ""
        return {
            "state": states.get(obj.status, obj.status),
            "show_approve": may and draft,
            "show_send": may and obj.status in (Status.DRAFT, Status.APPROVED),
            "send_label": gettext("Approve and send") if draft else gettext("Send"),
            "send_note": (
                gettext("Sent as a PDF on %(channel)s.") % {"channel": channel}
                if channel
                else gettext("This quote has no conversation to be sent in.")
            ),
            "show_reject": may and obj.status in (Status.DRAFT, Status.APPROVED, Status.SENT),
            "urls": {name: quote_url(obj, name) for name in (*ACTIONS, "pdf")},
        }

    # ---- the actions ------------------------------------------------------------------

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def approve(obj: Quote) -> str:
            quote_approve(quote=obj, actor=Actor.rep(request.user))
            return gettext("%(ref)s approved.") % {"ref": obj.reference}

        return self._act(request, object_id, approve)

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def send(obj: Quote) -> str:
            quote_deliver(quote=obj, user=request.user)  # type: ignore[arg-type]
            return gettext("%(ref)s is being sent to the customer.") % {"ref": obj.reference}

        return self._act(request, object_id, send)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def reject(obj: Quote) -> str:
            quote_reject(quote=obj, actor=Actor.rep(request.user))
            return gettext("%(ref)s rejected.") % {"ref": obj.reference}

        return self._act(request, object_id, reject)

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._quote(request, object_id)
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        from quotes.pdf import quote_pdf_render

        pdf = quote_pdf_render(obj)
        return HttpResponse(
            pdf,
            content_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{obj.reference}.pdf"',
                "Cache-Control": "private, no-store",
            },
        )

    # ---- prepare a quote from an opportunity ------------------------------------------

    def prepare_view(self, request: HttpRequest, opportunity_id: str) -> HttpResponse:
        """GET: the form (the recommended SKUs, quantity 1); POST: the draft, then its page
        (400: the form again, with the reason)."""
        opportunities = self.model_admin.admin_site._registry[LeadOpportunity]
        opportunity = opportunities.get_object(request, unquote(opportunity_id))  # else 404
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not request.user.has_perm(ADD):
            raise PermissionDenied
        if request.method == "GET":
            skus = list(
                dict.fromkeys(
                    opportunity.recommendations.order_by("pk").values_list("product_sku", flat=True)
                )
            )
            initial = [{"sku": sku, "quantity": 1} for sku in skus]
            rows = PrepareLines(initial=initial + [{}] * PREPARE_ROWS, prefix="lines")
            return self._prepare_form(request, opportunity, rows, PrepareNotesForm())
        rows = PrepareLines(request.POST, prefix="lines")
        notes = PrepareNotesForm(request.POST)
        if not (rows.is_valid() and notes.is_valid()):
            return self._prepare_form(request, opportunity, rows, notes, status=400)
        lines = [
            LineRequest(sku=row["sku"].strip(), quantity=row["quantity"])
            for row in rows.cleaned_data
            if row.get("sku", "").strip()
        ]
        try:
            quote = quote_prepare(
                opportunity=opportunity,
                lines=lines,
                actor=Actor.rep(request.user),
                notes=notes.cleaned_data["notes"],
            )
        except QuoteRefused as exc:
            return self._prepare_form(request, opportunity, rows, notes, error=exc.message)
        self.model_admin.message_user(
            request,
            gettext("Draft %(ref)s prepared with the catalog's prices.") % {"ref": quote.reference},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(quote_url(quote, "change"))

    def _prepare_form(
        self,
        request: HttpRequest,
        opportunity: LeadOpportunity,
        rows: Any,
        notes: PrepareNotesForm,
        status: int = 200,
        error: str = "",
    ) -> HttpResponse:
        context = {
            **self.model_admin.admin_site.each_context(request),
            "title": gettext("Prepare a quote"),
            "subtitle": str(opportunity),
            "opts": Quote._meta,
            "opportunity": opportunity,
            "opportunity_url": reverse("admin:crm_leadopportunity_change", args=[opportunity.pk]),
            "rows": rows,
            "notes": notes,
            "error": error,
        }
        return TemplateResponse(
            request, "desk/quote_prepare.html", context, status=400 if error else status
        )

    # ---- shared -----------------------------------------------------------------------

    def _quote(self, request: HttpRequest, object_id: str) -> Quote:
        obj: Quote = self.model_admin.get_object(request, unquote(object_id))  # else 404
        if not self.model_admin.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def _act(
        self, request: HttpRequest, object_id: str, action: Callable[[Quote], str]
    ) -> HttpResponse:
        obj = self._quote(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.model_admin.has_change_permission(request, obj):
            raise PermissionDenied
        try:
            done = action(obj)
        except QuoteRefused as exc:
            self.model_admin.message_user(request, exc.message, messages.ERROR)
        else:
            self.model_admin.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(quote_url(obj, "change"))
