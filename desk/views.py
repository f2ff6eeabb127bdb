"""The admin index's dashboard: which tenant, which period, and the figures as cards and charts.

``SalesAdminSite.index`` adds :func:`admin_index_context` to the index page. A
tenant member sees their tenant; a superuser picks a tenant with ``?tenant=<slug>``
(without one the plain index is shown). The period comes from ``?days=``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat
from django.utils.formats import number_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.models import LeadOpportunity, Platform
from desk.charts import Bar, Series, column_chart, hbar_chart
from desk.dashboard import PERIODS, Dashboard, dashboard_get, humanize_duration, period_parse
from tenants.models import Tenant
from tenants.scoping import tenant_scope

CHANNEL_COLORS: dict[str, str] = {
    Platform.WIDGET: "#6366f1",
    Platform.TELEGRAM: "#0ea5e9",
    Platform.WHATSAPP: "#22c55e",
    Platform.API: "#f59e0b",
    Platform.CONSOLE: "#94a3b8",
}
STATUS_COLORS: dict[str, str] = {
    LeadOpportunity.Status.QUALIFIED: "#0ea5e9",
    LeadOpportunity.Status.NEEDS_EXPERT: "#f59e0b",
    LeadOpportunity.Status.QUOTED: "#8b5cf6",
    LeadOpportunity.Status.WON: "#22c55e",
    LeadOpportunity.Status.CLOSED: "#64748b",
}
FUNNEL_COLORS = ("#0ea5e9", "#6366f1", "#8b5cf6", "#22c55e")
SPARE_COLORS = ("#8b5cf6", "#14b8a6", "#e11d48", "#84cc16")
HANDOFF_COLOR = "#8b5cf6"
FALLBACK_COLOR = "#e11d48"
# Channels always shown in the legend, even on a quiet period; others only when used.
MAIN_CHANNELS = (Platform.WIDGET, Platform.TELEGRAM, Platform.WHATSAPP, Platform.API)


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    hint: str


@dataclass(frozen=True)
class ProductRow:
    rank: int
    sku: str
    name: str
    recommendations: int
    share: int  # percent of the top product's count, for the inline bar
    url: str


@dataclass(frozen=True)
class PeriodLink:
    days: int
    url: str
    is_current: bool


def _day_label(day: date) -> str:
    return dateformat.format(day, "j M")


def _span(dashboard: Dashboard) -> str:
    first, last = dashboard.period.first_day, dashboard.period.last_day
    return f"{dateformat.format(first, 'j M')} \N{EN DASH} {dateformat.format(last, 'j M Y')}"


def _query(**params: Any) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v})


def _product_url(product_id: int | None) -> str:
    if product_id is None:
        return ""
    try:
        return reverse("admin:catalog_product_change", args=[product_id])
    except NoReverseMatch:
        return ""


def channel_chart(dashboard: Dashboard) -> SafeString:
    dates = dashboard.period.dates
    by_day = dashboard.conversations.by_day
    used = dashboard.conversations.by_channel()
    channels = [c for c in Platform if c in MAIN_CHANNELS or used.get(c)]
    series = [
        Series(
            key=channel.value,
            label=str(channel.label),
            color=CHANNEL_COLORS.get(channel, SPARE_COLORS[0]),
            values=[by_day.get(day, {}).get(channel.value, 0) for day in dates],
        )
        for channel in channels
    ]
    breakdown = ", ".join(f"{s.label} {s.total}" for s in series)
    return column_chart(
        chart_id="desk-channels",
        title=_("Conversations by channel per day"),
        desc=_(
            "Conversations started per day, %(span)s, stacked by channel. "
            "Totals: %(breakdown)s; %(total)s in all."
        )
        % {
            "span": _span(dashboard),
            "breakdown": breakdown,
            "total": dashboard.conversations.total,
        },
        categories=[_day_label(day) for day in dates],
        series=series,
        y_label=_("Conversations"),
        x_label=_("Day started"),
        width=760,
        height=420,
    )


def attention_chart(dashboard: Dashboard) -> SafeString:
    dates = dashboard.period.dates
    handoffs = dashboard.conversations.handoffs_by_day
    series = [
        Series("handoffs", _("Handoffs"), HANDOFF_COLOR, [handoffs.get(d, 0) for d in dates]),
        Series(
            "fallbacks",
            _("Fallback answers"),
            FALLBACK_COLOR,
            [dashboard.fallbacks_by_day.get(d, 0) for d in dates],
        ),
    ]
    return column_chart(
        chart_id="desk-attention",
        title=_("Handoffs and fallback answers per day"),
        desc=_(
            "Per day, %(span)s: conversations handed off to a rep (%(handoffs)s) and bot "
            "replies written by the catalog fallback without the LLM (%(fallbacks)s)."
        )
        % {
            "span": _span(dashboard),
            "handoffs": dashboard.conversations.handoffs,
            "fallbacks": dashboard.fallbacks,
        },
        categories=[_day_label(day) for day in dates],
        series=series,
        y_label=_("Count"),
        x_label=_("Day"),
        width=560,
        height=410,
        max_labels=8,
    )


def channel_mix_chart(dashboard: Dashboard) -> SafeString:
    used = dashboard.conversations.by_channel()
    total = dashboard.conversations.total
    bars = [
        Bar(
            label=str(channel.label),
            value=used.get(channel.value, 0),
            color=CHANNEL_COLORS.get(channel, SPARE_COLORS[0]),
        )
        for channel in Platform
        if channel in MAIN_CHANNELS or used.get(channel)
    ]
    shares = ", ".join(
        f"{bar.label} {bar.value} ({round(100 * bar.value / total) if total else 0}%)"
        for bar in bars
    )
    return hbar_chart(
        chart_id="desk-mix",
        title=_("Conversations per channel"),
        desc=_("Conversations started %(span)s, per channel: %(shares)s.")
        % {"span": _span(dashboard), "shares": shares},
        bars=bars,
        x_label=_("Conversations"),
        row_height=34,
    )


def status_chart(dashboard: Dashboard) -> SafeString:
    spare = iter(SPARE_COLORS * 3)
    bars = [
        Bar(
            label=str(LeadOpportunity.Status(status).label)
            if status in LeadOpportunity.Status.values
            else status,
            value=count,
            color=STATUS_COLORS.get(status) or next(spare),
        )
        for status, count in dashboard.opportunities_by_status.items()
    ]
    breakdown = ", ".join(f"{bar.label} {bar.value}" for bar in bars)
    return hbar_chart(
        chart_id="desk-status",
        title=_("Opportunities by status"),
        desc=_("Opportunities created %(span)s, by current status: %(breakdown)s.")
        % {"span": _span(dashboard), "breakdown": breakdown},
        bars=bars,
        x_label=_("Opportunities"),
        row_height=34,
    )


def funnel_chart(dashboard: Dashboard) -> SafeString:
    funnel = dashboard.funnel
    steps = [
        (_("Conversations"), funnel.conversations),
        (_("Opportunities"), funnel.opportunities),
        (_("Quotes sent"), funnel.quotes),
        (_("Quotes accepted"), funnel.accepted),
    ]
    bars = [
        Bar(label=str(label), value=count, color=color)
        for (label, count), color in zip(steps, FUNNEL_COLORS, strict=True)
    ]
    breakdown = ", ".join(f"{bar.label} {bar.value}" for bar in bars)
    return hbar_chart(
        chart_id="desk-funnel",
        title=_("From conversation to accepted quote"),
        desc=_("Conversations started %(span)s and how many went each step further: %(steps)s.")
        % {"span": _span(dashboard), "steps": breakdown},
        bars=bars,
        x_label=_("Conversations"),
        row_height=34,
    )


def money_sums(values: dict[str, Any]) -> str:
    """Sums in several currencies, each in the member's notation: "EUR 1,200.00 + USD 90.00"."""
    from desk.admin.opportunities import money_display  # the admin site imports this module

    return " + ".join(money_display(amount, currency) for currency, amount in values.items())


def _quote_cards(dashboard: Dashboard) -> list[Card]:
    quotes = dashboard.quotes
    return [
        Card(
            "quotes-sent",
            _("Quotes sent"),
            str(quotes.sent),
            money_sums(quotes.sent_value) or _("no quote in this period"),
        ),
        Card(
            "quotes-accepted",
            _("Quotes accepted"),
            str(quotes.accepted),
            money_sums(quotes.accepted_value) or _("no quote in this period"),
        ),
    ]


def _cards(dashboard: Dashboard) -> list[Card]:
    conversations = dashboard.conversations.total
    per_day = conversations / dashboard.period.days
    qualified = dashboard.opportunities_by_status.get(LeadOpportunity.Status.QUALIFIED, 0)
    handoffs = dashboard.conversations.handoffs
    share = (
        _("%(percent)s%% of conversations") % {"percent": round(100 * handoffs / conversations)}
        if conversations
        else ""
    )
    answered = len(dashboard.first_responses)
    return [
        Card(
            "conversations",
            _("Conversations"),
            str(conversations),
            _("%(rate)s a day") % {"rate": number_format(per_day, 1)},
        ),
        Card(
            "opportunities",
            _("Opportunities"),
            str(dashboard.opportunities),
            _("%(count)s qualified") % {"count": qualified},
        ),
        Card("handoffs", _("Handoffs to a rep"), str(handoffs), share or _("none in this period")),
        Card(
            "fallbacks",
            _("Fallback answers"),
            str(dashboard.fallbacks),
            _("catalog replies without the LLM"),
        ),
        Card(
            "first-response",
            _("Median first response"),
            humanize_duration(dashboard.median_first_response),
            ngettext(
                "over %(count)s answered conversation",
                "over %(count)s answered conversations",
                answered,
            )
            % {"count": answered},
        ),
        *_quote_cards(dashboard),
    ]


def _products(dashboard: Dashboard) -> list[ProductRow]:
    top = dashboard.top_products
    peak = top[0].recommendations if top else 1
    return [
        ProductRow(
            rank=rank,
            sku=product.sku,
            name=product.name,
            recommendations=product.recommendations,
            share=max(4, round(100 * product.recommendations / peak)),
            url=_product_url(product.product_id),
        )
        for rank, product in enumerate(top, start=1)
    ]


def dashboard_context(*, tenant: Tenant, days: int, tenant_param: str = "") -> dict[str, Any]:
    """Everything the dashboard template shows for ``tenant`` (the caller holds its scope)."""
    dashboard = dashboard_get(tenant=tenant, days=days)
    return {
        "tenant": tenant,
        "period_days": days,
        "period_span": _span(dashboard),
        "periods": [
            PeriodLink(days=p, url=_query(tenant=tenant_param, days=p), is_current=p == days)
            for p in PERIODS
        ],
        "cards": _cards(dashboard),
        "channel_chart": channel_chart(dashboard),
        "status_chart": status_chart(dashboard),
        "mix_chart": channel_mix_chart(dashboard),
        "attention_chart": attention_chart(dashboard),
        "funnel_chart": funnel_chart(dashboard),
        "products": _products(dashboard),
        "opportunities": dashboard.opportunities,
        "conversations": dashboard.conversations.total,
    }


def admin_index_context(request: HttpRequest) -> dict[str, Any]:
    """The index's extra context: ``desk`` (the dashboard) and, for superusers, a tenant picker."""
    days = period_parse(request.GET.get("days"))
    member_tenant: Tenant | None = getattr(request, "tenant", None)
    if member_tenant is not None:
        with tenant_scope(member_tenant):
            return {"desk": dashboard_context(tenant=member_tenant, days=days)}
    if not getattr(request.user, "is_superuser", False):
        return {}
    slug = request.GET.get("tenant", "")
    tenants = list(Tenant.objects.filter(is_active=True).order_by("name"))
    context: dict[str, Any] = {"desk_tenants": tenants, "desk_tenant_slug": slug}
    chosen = next((t for t in tenants if t.slug == slug), None)
    if chosen is not None:
        with tenant_scope(chosen):
            context["desk"] = dashboard_context(tenant=chosen, days=days, tenant_param=chosen.slug)
    return context
