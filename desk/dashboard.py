"""Reads behind the desk's dashboard: a tenant's activity over the last 7, 30 or 90 days.

Each selector takes the tenant explicitly (and filters by it, on top of the
active scope) and runs one aggregate query; days are the current time zone's
calendar days. ``dashboard_get`` puts them together: seven queries in all.

Quotes: those sent in the period and those accepted in it, with their value (the quotes'
totals, tax included, per currency). The funnel follows the conversations started in the
period: how many led to an opportunity, to a quote sent, to a quote accepted.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from crm.models import Conversation, LeadOpportunity, Message, OpportunityProductRecommendation
from quotes.models import Quote
from tenants.models import Tenant

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
TOP_PRODUCTS = 10
REPLY_ROLES = (Message.Role.ASSISTANT, Message.Role.AGENT)


@dataclass(frozen=True)
class Period:
    """The last ``days`` calendar days, today included: ``start <= t < end``."""

    days: int
    start: datetime
    end: datetime

    @property
    def dates(self) -> list[date]:
        first = timezone.localtime(self.start).date()
        return [first + timedelta(days=offset) for offset in range(self.days)]

    @property
    def first_day(self) -> date:
        return self.dates[0]

    @property
    def last_day(self) -> date:
        return self.dates[-1]


@dataclass(frozen=True)
class TopProduct:
    sku: str
    name: str
    recommendations: int
    product_id: int | None


@dataclass
class ConversationCounts:
    by_day: dict[date, dict[str, int]] = field(default_factory=dict)
    handoffs_by_day: dict[date, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(sum(channels.values()) for channels in self.by_day.values())

    @property
    def handoffs(self) -> int:
        return sum(self.handoffs_by_day.values())

    def by_channel(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for channels in self.by_day.values():
            for channel, count in channels.items():
                totals[channel] += count
        return dict(totals)


@dataclass
class QuoteFigures:
    """Quotes sent and accepted in the period, and their value per currency."""

    sent: int = 0
    accepted: int = 0
    sent_value: dict[str, Decimal] = field(default_factory=dict)
    accepted_value: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Funnel:
    """Conversations started in the period, and how many of them went each step further."""

    conversations: int = 0
    opportunities: int = 0
    quotes: int = 0
    accepted: int = 0


@dataclass
class Dashboard:
    tenant: Tenant
    period: Period
    conversations: ConversationCounts
    fallbacks_by_day: dict[date, int]
    opportunities_by_status: dict[str, int]
    top_products: list[TopProduct]
    first_responses: list[timedelta]
    quotes: QuoteFigures = field(default_factory=QuoteFigures)
    funnel: Funnel = field(default_factory=Funnel)

    @property
    def fallbacks(self) -> int:
        return sum(self.fallbacks_by_day.values())

    @property
    def opportunities(self) -> int:
        return sum(self.opportunities_by_status.values())

    @property
    def median_first_response(self) -> timedelta | None:
        return median_duration(self.first_responses)


def period_parse(value: str | None) -> int:
    """The ``?days=`` value if it is one of the offered periods, else the default."""
    try:
        days = int(value or "")
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def period_for(*, days: int, now: datetime | None = None) -> Period:
    tz = timezone.get_current_timezone()
    today = timezone.localtime(now or timezone.now(), tz).date()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min), tz)
    end = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min), tz)
    return Period(days=days, start=start, end=end)


def _day() -> TruncDate:
    return TruncDate("created_at", tzinfo=timezone.get_current_timezone())


def conversation_counts(*, tenant: Tenant, period: Period) -> ConversationCounts:
    """Conversations started per day and channel, and those handed off to a rep.

    A handoff is a conversation now with a rep, or flagged because the agent asked
    for one (it keeps that reason when a rep closes it).
    """
    handed_off = Q(status=Conversation.Status.HANDED_OFF) | Q(
        attention_reason__startswith="handoff"
    )
    rows = (
        Conversation.objects.filter(
            tenant=tenant, created_at__gte=period.start, created_at__lt=period.end
        )
        .annotate(day=_day())
        .values("day", "channel")
        .annotate(count=Count("pk"), handoffs=Count("pk", filter=handed_off))
        .order_by()
    )
    counts = ConversationCounts()
    for row in rows:
        counts.by_day.setdefault(row["day"], {})[row["channel"]] = row["count"]
        if row["handoffs"]:
            day = row["day"]
            counts.handoffs_by_day[day] = counts.handoffs_by_day.get(day, 0) + row["handoffs"]
    return counts


def fallback_counts(*, tenant: Tenant, period: Period) -> dict[date, int]:
    """Bot replies written by the catalog fallback (no LLM), per day."""
    rows = (
        Message.objects.filter(
            tenant=tenant,
            role=Message.Role.ASSISTANT,
            answer_mode="fallback",
            created_at__gte=period.start,
            created_at__lt=period.end,
        )
        .annotate(day=_day())
        .values("day")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {row["day"]: row["count"] for row in rows}


def opportunity_counts(*, tenant: Tenant, period: Period) -> dict[str, int]:
    """Opportunities created in the period, per status (every status, zeros included)."""
    rows = (
        LeadOpportunity.objects.filter(
            tenant=tenant, created_at__gte=period.start, created_at__lt=period.end
        )
        .values("status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts = dict.fromkeys(LeadOpportunity.Status.values, 0)
    for row in rows:
        counts[row["status"]] = row["count"]
    return counts


def recommendation_top_products(
    *, tenant: Tenant, period: Period, limit: int = TOP_PRODUCTS
) -> list[TopProduct]:
    """The most recommended SKUs in the period (ties by SKU), with the latest name seen."""
    rows = (
        OpportunityProductRecommendation.objects.filter(
            tenant=tenant, created_at__gte=period.start, created_at__lt=period.end
        )
        .values("product_sku")
        .annotate(count=Count("pk"), name=Max("product_name"), latest_product=Max("product_id"))
        .order_by("-count", "product_sku")[:limit]
    )
    return [
        TopProduct(
            sku=row["product_sku"],
            name=row["name"],
            recommendations=row["count"],
            product_id=row["latest_product"],
        )
        for row in rows
    ]


def conversation_first_responses(*, tenant: Tenant, period: Period) -> list[timedelta]:
    """For each conversation started in the period and answered: the first response time.

    From the conversation's first customer message to the first bot or rep message
    at or after it. Conversations without a customer message or a reply are left out.
    """
    first_customer = (
        Message.objects.filter(tenant=tenant, conversation=OuterRef("pk"), role=Message.Role.USER)
        .order_by("created_at", "pk")
        .values("created_at")[:1]
    )
    first_reply = (
        Message.objects.filter(
            tenant=tenant,
            conversation=OuterRef("pk"),
            role__in=REPLY_ROLES,
            created_at__gte=OuterRef("first_customer_at"),
        )
        .order_by("created_at", "pk")
        .values("created_at")[:1]
    )
    rows = (
        Conversation.objects.filter(
            tenant=tenant, created_at__gte=period.start, created_at__lt=period.end
        )
        .annotate(first_customer_at=Subquery(first_customer))
        .annotate(first_reply_at=Subquery(first_reply))
        .filter(first_customer_at__isnull=False, first_reply_at__isnull=False)
        .values_list("first_customer_at", "first_reply_at")
    )
    return [reply - customer for customer, reply in rows]


def quote_figures(*, tenant: Tenant, period: Period) -> QuoteFigures:
    """Quotes sent in the period (whatever became of them since) and quotes accepted in it,
    each with the sum of their totals per currency."""
    sent = Q(sent_at__gte=period.start, sent_at__lt=period.end)
    accepted = Q(
        status=Quote.Status.ACCEPTED, accepted_at__gte=period.start, accepted_at__lt=period.end
    )
    rows = (
        Quote.objects.filter(tenant=tenant)
        .filter(sent | accepted)
        .values("currency")
        .annotate(
            sent=Count("pk", filter=sent),
            sent_value=Sum("total", filter=sent),
            accepted=Count("pk", filter=accepted),
            accepted_value=Sum("total", filter=accepted),
        )
        .order_by("currency")
    )
    figures = QuoteFigures()
    for row in rows:
        figures.sent += row["sent"]
        figures.accepted += row["accepted"]
        if row["sent"]:
            figures.sent_value[row["currency"]] = row["sent_value"]
        if row["accepted"]:
            figures.accepted_value[row["currency"]] = row["accepted_value"]
    return figures


def conversation_funnel(*, tenant: Tenant, period: Period) -> Funnel:
    """Of the conversations started in the period: those with an opportunity, with a quote
    sent, with a quote accepted (each step counts the conversations that reached it)."""
    quotes = Quote.objects.filter(tenant=tenant, conversation=OuterRef("pk"))
    row = (
        Conversation.objects.filter(
            tenant=tenant, created_at__gte=period.start, created_at__lt=period.end
        )
        .annotate(
            has_opportunity=Exists(
                LeadOpportunity.objects.filter(tenant=tenant, conversation=OuterRef("pk"))
            ),
            has_quote=Exists(quotes.filter(sent_at__isnull=False)),
            has_accepted=Exists(quotes.filter(status=Quote.Status.ACCEPTED)),
        )
        .aggregate(
            conversations=Count("pk"),
            opportunities=Count("pk", filter=Q(has_opportunity=True)),
            quotes=Count("pk", filter=Q(has_quote=True)),
            accepted=Count("pk", filter=Q(has_accepted=True)),
        )
    )
    return Funnel(**row)


def dashboard_get(*, tenant: Tenant, days: int, now: datetime | None = None) -> Dashboard:
    period = period_for(days=days, now=now)
    return Dashboard(
        tenant=tenant,
        period=period,
        conversations=conversation_counts(tenant=tenant, period=period),
        fallbacks_by_day=fallback_counts(tenant=tenant, period=period),
        opportunities_by_status=opportunity_counts(tenant=tenant, period=period),
        top_products=recommendation_top_products(tenant=tenant, period=period),
        first_responses=conversation_first_responses(tenant=tenant, period=period),
        quotes=quote_figures(tenant=tenant, period=period),
        funnel=conversation_funnel(tenant=tenant, period=period),
    )


def median_duration(durations: list[timedelta]) -> timedelta | None:
    """The median of the durations, None when there are none."""
    if not durations:
        return None
    seconds = statistics.median(d.total_seconds() for d in durations)
    return timedelta(seconds=seconds)


def humanize_duration(duration: timedelta | None) -> str:
    """A short reading of a duration: 45 s, 3 min 20 s, 2 h 5 min, 1 d 4 h."""
    if duration is None:
        return "—"
    seconds = max(0, round(duration.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 600:
        minutes, seconds = divmod(seconds, 60)
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
