"""Every write of a quote: prepare, edit lines, approve, send, accept, reject, expire.

The only inputs a caller gives for a line are a SKU, a quantity and (a rep, on a draft) a
discount. Name and unit price are copied from the tenant's active catalog product when
the line is added; a SKU that is not in the catalog, inactive, without a price, or priced
in another currency than the quote is refused with :class:`QuoteRefused`, whose message
says why (the agent reads it to the customer's benefit, the desk and the API show it).

Each change is recorded in the audit trail on the quote's opportunity and published after
the commit as a ``quote.*`` domain event. Sending stores the message that carries the
quote in its conversation (``metadata["quote"]``); the channel's transport delivers it
with the PDF, exactly once, like any other reply (see ``channels_app.inbox.delivery``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, override

from catalog.models import Product
from catalog.text import sku_key
from crm.audit import Action, Actor, audit_record
from crm.events import EventType, event_publish
from crm.models import Conversation, LeadOpportunity, Message
from crm.services import conversation_flag, message_add, opportunity_status_set
from quotes.models import Quote, QuoteCounter, QuoteLine
from tenants.models import Tenant

Status = Quote.Status
CENT = Decimal("0.01")
MAX_LINES = 50
MAX_QUANTITY = 1_000_000
# An opportunity further along than these is not moved back by a quote being sent.
_OPEN_OPPORTUNITY = (LeadOpportunity.Status.QUALIFIED, LeadOpportunity.Status.NEEDS_EXPERT)


class QuoteRefused(ValueError):
    """A quote change that cannot be made; ``code`` for programs, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LineRequest:
    """One line as a caller asks for it: never a price."""

    sku: str
    quantity: int
    discount_percent: Decimal = Decimal("0")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(*, quantity: int, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    return money(quantity * unit_price * (Decimal("100") - discount_percent) / Decimal("100"))


def _requested(lines: Sequence[LineRequest]) -> list[LineRequest]:
    """The lines merged by SKU (quantities added), in first-seen order, checked."""
    if not lines:
        raise QuoteRefused("empty", gettext("A quote needs at least one line."))
    merged: dict[str, LineRequest] = {}
    for line in lines:
        sku = str(line.sku or "").strip()
        if not sku:
            raise QuoteRefused("unknown_sku", gettext("Every line needs a SKU."))
        try:
            quantity = int(line.quantity)
        except (TypeError, ValueError):
            quantity = 0
        if quantity != line.quantity or not 1 <= quantity <= MAX_QUANTITY:
            raise QuoteRefused(
                "quantity",
                gettext("The quantity of %(sku)s must be a whole number from 1 to %(max)s.")
                % {"sku": sku, "max": MAX_QUANTITY},
            )
        discount = Decimal(line.discount_percent)
        if not Decimal("0") <= discount <= Decimal("100"):
            raise QuoteRefused("discount", gettext("A discount is a percentage from 0 to 100."))
        key = sku_key(sku)
        if key in merged:
            before = merged[key]
            quantity += before.quantity
            merged[key] = LineRequest(before.sku, quantity, before.discount_percent)
        else:
            merged[key] = LineRequest(sku, quantity, discount)
    if len(merged) > MAX_LINES:
        raise QuoteRefused(
            "too_many_lines", gettext("A quote has at most %(max)s lines.") % {"max": MAX_LINES}
        )
    return list(merged.values())


def _products(tenant: Tenant, requests: list[LineRequest]) -> dict[str, Product]:
    """The catalog product of every requested SKU, refusing what cannot be quoted."""
    keys = {sku_key(line.sku) for line in requests}
    found: dict[str, Product] = {}
    # A catalog's SKUs differ by more than case and dashes; compare on the key in Python
    # over the candidates sharing the first characters.
    candidates = Product.all_objects.filter(tenant=tenant).only(
        "sku", "name", "price", "currency", "is_active", "is_deleted", "tenant_id"
    )
    exact = {line.sku for line in requests}
    for product in candidates.filter(sku__in=exact):
        found[sku_key(product.sku)] = product
    missing = keys - found.keys()
    if missing:
        for product in candidates.iterator():
            key = sku_key(product.sku)
            if key in missing and key not in found:
                found[key] = product
    return found


def _check(product: Product | None, sku: str, currency: str) -> Product:
    if product is None:
        raise QuoteRefused(
            "unknown_sku",
            gettext("%(sku)s is not in the catalog; only catalog products can be quoted.")
            % {"sku": sku},
        )
    if product.is_deleted or not product.is_active:
        raise QuoteRefused(
            "inactive",
            gettext("%(sku)s is no longer offered, so it cannot be quoted.") % {"sku": product.sku},
        )
    if product.price is None or product.price <= 0:
        raise QuoteRefused(
            "no_price",
            gettext("%(sku)s has no price in the catalog; a sales rep must price it.")
            % {"sku": product.sku},
        )
    if not product.currency:
        raise QuoteRefused(
            "no_currency",
            gettext("%(sku)s has no currency in the catalog; a sales rep must price it.")
            % {"sku": product.sku},
        )
    if currency and product.currency.upper() != currency:
        raise QuoteRefused(
            "currency",
            gettext(
                "%(sku)s is priced in %(other)s and this quote is in %(currency)s; "
                "one quote has one currency."
            )
            % {"sku": product.sku, "other": product.currency.upper(), "currency": currency},
        )
    return product


def _build_lines(
    quote: Quote, requests: list[LineRequest], keep_prices: dict[str, Decimal]
) -> list[QuoteLine]:
    products = _products(quote.tenant, requests)
    currency = quote.currency
    lines = []
    for position, request in enumerate(requests):
        product = _check(products.get(sku_key(request.sku)), request.sku, currency)
        currency = currency or product.currency.upper()
        assert product.price is not None
        unit_price = keep_prices.get(product.sku, product.price)
        lines.append(
            QuoteLine(
                tenant=quote.tenant,
                quote=quote,
                position=position,
                product=product,
                sku=product.sku,
                name=product.name,
                quantity=request.quantity,
                unit_price=unit_price,
                discount_percent=request.discount_percent,
                line_total=line_total(
                    quantity=request.quantity,
                    unit_price=unit_price,
                    discount_percent=request.discount_percent,
                ),
            )
        )
    quote.currency = currency
    return lines


def _totals(quote: Quote, lines: Iterable[QuoteLine]) -> None:
    quote.subtotal = money(sum((line.line_total for line in lines), Decimal("0")))
    quote.tax_amount = money(quote.subtotal * quote.tax_rate / Decimal("100"))
    quote.total = quote.subtotal + quote.tax_amount


def _next_number(tenant: Tenant) -> int:
    QuoteCounter.objects.get_or_create(tenant=tenant)
    counter = QuoteCounter.objects.select_for_update().get(tenant=tenant)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _record(quote: Quote, actor: Actor, action: str, event: str, **data: Any) -> None:
    audit_record(
        tenant=quote.tenant,
        action=action,
        actor=actor,
        opportunity=quote.opportunity,
        conversation=quote.conversation,
        contact=quote.contact,
        from_value=data.pop("before", ""),
        to_value=data.pop("after", quote.status),
        changes=data.pop("changes", None),
        note=quote.reference,
    )
    event_publish(
        event,
        tenant_id=quote.tenant_id,
        subject_id=quote.pk,
        actor=actor,
        opportunity_id=quote.opportunity_id,
        conversation_id=quote.conversation_id,
        number=quote.number,
        status=quote.status,
        **data,
    )


def _lock(quote: Quote) -> Quote:
    locked = Quote.objects.select_for_update().select_related("tenant").get(pk=quote.pk)
    return locked


def _refuse_status(quote: Quote, action: str) -> QuoteRefused:
    return QuoteRefused(
        "status",
        gettext("%(ref)s is %(status)s: it cannot be %(action)s.")
        % {"ref": quote.reference, "status": quote.get_status_display(), "action": action},
    )


def is_past_validity(quote: Quote, today: date | None = None) -> bool:
    return quote.valid_until < (today or timezone.localdate())


def quote_preview(*, tenant: Tenant, lines: Sequence[LineRequest]) -> tuple[Quote, list[QuoteLine]]:
    """What :func:`quote_prepare` would build for these lines, unsaved and unnumbered:
    refused in the same way, and nothing is written (the agent checks its quote with it
    and prepares it when its turn commits)."""
    quote = Quote(
        tenant=tenant,
        currency="",
        tax_rate=tenant.quote_tax_rate,
        valid_until=timezone.localdate() + timedelta(days=tenant.quote_validity_days),
    )
    built = _build_lines(quote, _requested(lines), {})
    _totals(quote, built)
    return quote, built


@transaction.atomic
def quote_prepare(
    *,
    opportunity: LeadOpportunity,
    lines: Sequence[LineRequest],
    actor: Actor,
    notes: str = "",
    conversation: Conversation | None = None,
) -> Quote:
    """A draft quote for the opportunity with catalog prices; refused (nothing written)
    when a line cannot be quoted."""
    tenant = opportunity.tenant
    requests = _requested(lines)
    conversation = conversation or opportunity.conversation
    quote = Quote(
        tenant=tenant,
        opportunity=opportunity,
        contact_id=opportunity.contact_id,
        conversation=conversation,
        currency="",
        language=tenant.default_language,
        tax_rate=tenant.quote_tax_rate,
        valid_until=timezone.localdate() + timedelta(days=tenant.quote_validity_days),
        notes=notes.strip()[:2000],
        created_by_kind=_created_by(actor),
        created_by=actor.user,
        created_by_name=actor.name[:150],
    )
    built = _build_lines(quote, requests, {})
    quote.number = _next_number(tenant)
    _totals(quote, built)
    quote.save()
    QuoteLine.objects.bulk_create(built)
    _record(quote, actor, Action.QUOTE_CREATED, EventType.QUOTE_CREATED, before="")
    return quote


def _created_by(actor: Actor) -> str:
    if actor.kind == "agent":
        return Quote.CreatedBy.AGENT
    if actor.kind == "integration":
        return Quote.CreatedBy.INTEGRATION
    return Quote.CreatedBy.REP


@transaction.atomic
def quote_lines_set(
    *, quote: Quote, lines: Sequence[LineRequest], actor: Actor, notes: str | None = None
) -> Quote:
    """Replace a draft's lines (a SKU already on it keeps the price it was quoted at)."""
    locked = _lock(quote)
    if not locked.is_editable:
        raise _refuse_status(locked, gettext("edited"))
    requests = _requested(lines)
    old = list(locked.lines.all())
    kept = {line.sku: line.unit_price for line in old}
    locked.currency = ""
    built = _build_lines(locked, requests, kept)
    before = [[line.sku, line.quantity, str(line.discount_percent)] for line in old]
    after = [[line.sku, line.quantity, str(line.discount_percent)] for line in built]
    QuoteLine.all_objects.filter(quote=locked).hard_delete()
    QuoteLine.objects.bulk_create(built)
    _totals(locked, built)
    if notes is not None:
        locked.notes = notes.strip()[:2000]
    locked.save()
    _record(
        locked,
        actor,
        Action.QUOTE_UPDATED,
        EventType.QUOTE_UPDATED,
        before=str(quote.total),
        after=str(locked.total),
        changes={"lines": [before, after]},
    )
    _copy(locked, quote)
    return quote


def _copy(source: Quote, target: Quote) -> None:
    for field in Quote._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _transition(
    quote: Quote, actor: Actor, status: str, action: str, event: str, **fields: Any
) -> Quote:
    before = quote.status
    quote.status = status
    for name, value in fields.items():
        setattr(quote, name, value)
    quote.save(update_fields=["status", "updated_at", *fields])
    _record(quote, actor, action, event, before=before, after=status)
    return quote


@transaction.atomic
def quote_approve(*, quote: Quote, actor: Actor) -> Quote:
    """A rep approves a draft: it can be sent. The agent never approves."""
    if actor.kind != "rep":
        raise QuoteRefused("not_a_rep", gettext("Only a sales rep can approve a quote."))
    locked = _lock(quote)
    if locked.status != Status.DRAFT:
        raise _refuse_status(locked, gettext("approved"))
    if is_past_validity(locked):
        raise QuoteRefused("expired", gettext("This quote is past its validity date."))
    _transition(
        locked,
        actor,
        Status.APPROVED,
        Action.QUOTE_APPROVED,
        EventType.QUOTE_APPROVED,
        approved_by=actor.user,
        approved_at=timezone.now(),
    )
    _copy(locked, quote)
    return quote


def quote_caption(quote: Quote) -> str:
    """The chat text that goes with the PDF, in the quote's language."""
    from django.utils.formats import date_format

    from quotes.pdf import amount_format  # the PDF's and the desk's notation: 1.450,00

    with override(quote.language):
        return gettext(
            "Quote %(ref)s: %(lines)s line(s), total %(total)s %(currency)s (tax included), "
            "valid until %(date)s."
        ) % {
            "ref": quote.reference,
            "lines": quote.lines.count(),
            "total": amount_format(quote.total, 2),
            "currency": quote.currency,
            "date": date_format(quote.valid_until, "SHORT_DATE_FORMAT", use_l10n=True),
        }


@transaction.atomic
def quote_send(*, quote: Quote, actor: Actor) -> Message:
    """Send the quote on its conversation: an approved quote, or a draft when the tenant
    allows the agent to send without approval (a rep's send of a draft approves it).

    Stores the reply that carries the quote (``metadata["quote"]``); the caller has the
    conversation's pending replies delivered, as for any reply.
    """
    locked = _lock(quote)
    if locked.conversation_id is None:
        raise QuoteRefused(
            "no_conversation", gettext("This quote has no conversation to be sent in.")
        )
    if locked.status == Status.DRAFT:
        if actor.kind == "rep":
            quote_approve(quote=locked, actor=actor)
        elif not (actor.kind == "agent" and locked.tenant.quotes_send_without_approval):
            raise QuoteRefused(
                "needs_approval", gettext("A sales rep must approve this quote before it is sent.")
            )
    elif locked.status != Status.APPROVED:
        raise _refuse_status(locked, gettext("sent"))
    if is_past_validity(locked):
        raise QuoteRefused("expired", gettext("This quote is past its validity date."))
    conversation = Conversation.objects.get(pk=locked.conversation_id)
    message = message_add(
        conversation=conversation,
        role=Message.Role.AGENT if actor.kind == "rep" else Message.Role.ASSISTANT,
        content=quote_caption(locked),
        metadata={"quote": {"key": locked.public_key, "number": locked.number}},
        author=actor.user if actor.kind == "rep" else None,
    )
    _transition(
        locked, actor, Status.SENT, Action.QUOTE_SENT, EventType.QUOTE_SENT, sent_at=timezone.now()
    )
    opportunity = LeadOpportunity.objects.get(pk=locked.opportunity_id)
    if opportunity.status in _OPEN_OPPORTUNITY:
        opportunity_status_set(
            opportunity=opportunity, status=LeadOpportunity.Status.QUOTED, actor=actor
        )
    _copy(locked, quote)
    return message


def quote_accept(*, quote: Quote, actor: Actor, via: str) -> Quote:
    """The customer accepts a sent quote (``via``: ``telegram``, ``whatsapp``, ``widget``,
    ``text``, ``api``, ``desk``): accepted, its opportunity won, the rep told (the
    conversation is flagged with the reason). Accepting it again changes nothing; a quote
    past its validity becomes expired (that is kept) and the acceptance is refused."""
    with transaction.atomic():
        locked = _lock(quote)
        expired = locked.status == Status.SENT and is_past_validity(locked)
        if expired:
            _transition(
                locked, actor, Status.EXPIRED, Action.QUOTE_EXPIRED, EventType.QUOTE_EXPIRED
            )
        elif locked.status == Status.SENT:
            _accepted(locked, actor, via)
        _copy(locked, quote)
    if expired or quote.status == Status.EXPIRED:
        raise QuoteRefused(
            "expired",
            gettext("%(ref)s expired on %(date)s and can no longer be accepted.")
            % {"ref": quote.reference, "date": quote.valid_until.isoformat()},
        )
    if quote.status != Status.ACCEPTED:
        raise _refuse_status(quote, gettext("accepted"))
    return quote


def _accepted(locked: Quote, actor: Actor, via: str) -> None:
    _transition(
        locked,
        actor,
        Status.ACCEPTED,
        Action.QUOTE_ACCEPTED,
        EventType.QUOTE_ACCEPTED,
        accepted_at=timezone.now(),
    )
    opportunity = LeadOpportunity.objects.get(pk=locked.opportunity_id)
    opportunity_status_set(opportunity=opportunity, status=LeadOpportunity.Status.WON, actor=actor)
    if locked.conversation_id is not None:
        conversation = Conversation.objects.get(pk=locked.conversation_id)
        with override(locked.tenant.default_language):
            reason = gettext("Quote %(ref)s accepted by the customer (%(via)s).") % {
                "ref": locked.reference,
                "via": via,
            }
        conversation_flag(conversation=conversation, reason=reason, actor=actor)


@transaction.atomic
def quote_reject(*, quote: Quote, actor: Actor) -> Quote:
    """The customer (or a rep, for them) declines the quote."""
    locked = _lock(quote)
    if locked.status not in (Status.DRAFT, Status.APPROVED, Status.SENT):
        raise _refuse_status(locked, gettext("rejected"))
    _transition(
        locked,
        actor,
        Status.REJECTED,
        Action.QUOTE_REJECTED,
        EventType.QUOTE_REJECTED,
        rejected_at=timezone.now(),
    )
    _copy(locked, quote)
    return quote


def quotes_expire(*, tenant: Tenant, actor: Actor, today: date | None = None) -> int:
    """Mark the tenant's open quotes past their validity expired; returns how many."""
    today = today or timezone.localdate()
    due = Quote.objects.filter(
        tenant=tenant,
        status__in=(Status.DRAFT, Status.APPROVED, Status.SENT),
        valid_until__lt=today,
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(due):
        with transaction.atomic():
            locked = Quote.objects.select_for_update().get(pk=pk)
            if locked.status in (Status.DRAFT, Status.APPROVED, Status.SENT) and is_past_validity(
                locked, today
            ):
                _transition(
                    locked, actor, Status.EXPIRED, Action.QUOTE_EXPIRED, EventType.QUOTE_EXPIRED
                )
                count += 1
    return count
