"""Gather what a turn needs from the database: the pending messages, the CRM
context, the retrieved products and the history. The caller holds the scope.

In two steps, so that an async caller can embed the retrieval query between them,
off the thread that runs the database work (``agent.services``): :func:`turn_load`
reads the conversation and works out the query, :func:`turn_build` retrieves the
products and builds the prompt. :func:`turn_prepare` does both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from agent.language import detect_language
from agent.prompt import (
    CrmContext,
    HistoryItem,
    ProductBrief,
    build_system_prompt,
    history_messages,
)
from agent.tools import BRIEF_FIELDS, TurnState
from catalog.models import Product
from catalog.search import search
from crm.models import Conversation, LeadOpportunity, Message
from crm.selectors import contact_open_opportunities, conversation_history
from crm.services import messages_mark_handled
from quotes.models import Quote
from tenants.models import Tenant

HISTORY_FETCH = 80


@dataclass
class TurnLoad:
    """What :func:`turn_load` read: enough to know the retrieval query."""

    conversation: Conversation
    pending: list[Message]
    history: list[Message]
    query: str


@dataclass
class TurnInput:
    state: TurnState
    pending_ids: list[int]
    query: str
    language: str
    products: list[ProductBrief]
    system_prompt: str
    history: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    pending: list[Message] = field(default_factory=list)  # the messages this turn answers
    messages: list[Message] = field(default_factory=list)  # the recent ones, pending included


def product_brief(product: Product) -> ProductBrief:
    price = f"{product.price} {product.currency}".strip() if product.price is not None else ""
    return ProductBrief(
        sku=product.sku,
        name=product.name,
        brand=product.brand,
        category=product.category,
        price=price,
        url=product.url,
        text=product.clean_text[:600],
    )


def retrieve_products(*, tenant: Tenant, query: str, k: int) -> list[ProductBrief]:
    hits = search(tenant=tenant, query=query, k=k)
    found = Product.objects.filter(pk__in=[h.product_id for h in hits]).only(*BRIEF_FIELDS)
    products = {p.pk: p for p in found}
    return [product_brief(products[h.product_id]) for h in hits if h.product_id in products]


def crm_context(*, conversation: Conversation) -> CrmContext:
    contact = conversation.contact
    division = contact.division
    company = division.company if division else None
    opportunities = (
        contact_open_opportunities(contact_id=contact.pk)
        .prefetch_related("recommendations", "quotes")
        .order_by("-created_at")[:5]
    )
    previous = (
        Conversation.objects.filter(contact=contact)
        .exclude(pk=conversation.pk)
        .order_by("-created_at", "-pk")
        .first()
    )
    summary = ""
    if previous is not None:
        summary = previous.summary
        if not summary:
            last_opp = (
                LeadOpportunity.objects.filter(conversation=previous)
                .order_by("-created_at")
                .first()
            )
            summary = f"need: {last_opp.problem_statement}" if last_opp else ""
        if summary:
            when = previous.last_activity_at or previous.created_at
            summary = f"({when:%Y-%m-%d}, {previous.get_channel_display()}) {summary}"
    return CrmContext(
        contact={
            "name": contact.full_name,
            "email": contact.email,
            "phone": contact.phone_number,
            "crm_contact_id": contact.crm_contact_id or "",
            "channel": contact.get_platform_display(),
        },
        company={"name": company.name, "crm_company_id": company.crm_company_id or ""}
        if company
        else {},
        division={"name": division.name, "crm_division_id": division.crm_division_id or ""}
        if division
        else {},
        open_opportunities=[
            {
                "status": opp.status,
                "problem_statement": opp.problem_statement,
                "recommended": [r.product_sku for r in opp.recommendations.all()],
                "quotes": [_quote_line(q) for q in opp.quotes.all()[:3]],
            }
            for opp in opportunities
        ],
        previous_summary=summary,
    )


def _quote_line(quote: Quote) -> str:
    """A quote as the model reads it: reference, status, total and validity."""
    return (
        f"{quote.reference} {quote.status}, total {quote.total} {quote.currency}, "
        f"valid until {quote.valid_until.isoformat()}"
    )


def turn_prepare(*, tenant: Tenant, conversation_id: int) -> TurnInput | None:
    """What the next turn of the conversation works on, or None when it has nothing to do.

    A conversation that is with a rep or closed gets no bot turn: its waiting
    customer messages are marked taken (they are the rep's now) and None returned.
    """
    loaded = turn_load(tenant=tenant, conversation_id=conversation_id)
    return None if loaded is None else turn_build(tenant=tenant, loaded=loaded)


def _accepts_quote(message: Message) -> bool:
    return isinstance(message.metadata, dict) and bool(message.metadata.get("quote_accept"))


def turn_load(*, tenant: Tenant, conversation_id: int) -> TurnLoad | None:
    """The conversation, its waiting messages, its history and the retrieval query.

    None when there is nothing to answer (see :func:`turn_prepare`).
    """
    conversation = Conversation.objects.select_related("contact__division__company").get(
        pk=conversation_id
    )
    conversation.tenant = tenant
    history = conversation_history(conversation=conversation, limit=HISTORY_FETCH)
    if len(history) < HISTORY_FETCH:  # the whole conversation: no need to ask again
        pending = [m for m in history if m.role == Message.Role.USER and m.handled_at is None]
    else:
        pending = list(
            conversation.messages.filter(role=Message.Role.USER, handled_at__isnull=True).order_by(
                "created_at", "pk"
            )
        )
    # A press of a quote's accept button is the inbox's to answer before any turn
    # (channels_app.inbox.acceptance), also when it arrives while a turn is being loaded.
    pending = [m for m in pending if not _accepts_quote(m)]
    if not pending:
        return None
    if conversation.status != Conversation.Status.ACTIVE:
        messages_mark_handled(message_ids=[m.pk for m in pending])
        return None

    query = " ".join(m.content for m in pending)[-500:]
    if len(query.split()) < 4:  # "¿y el precio?": search with the message before too
        earlier = [m.content for m in history if m.role == Message.Role.USER and m not in pending]
        if earlier:
            query = f"{earlier[-1][-300:]} {query}"
    return TurnLoad(conversation=conversation, pending=pending, history=history, query=query)


def turn_build(*, tenant: Tenant, loaded: TurnLoad) -> TurnInput:
    """Retrieve the products for the loaded turn and build its prompt and history."""
    conversation, pending, history, query = (
        loaded.conversation,
        loaded.pending,
        loaded.history,
        loaded.query,
    )
    metadata: dict[str, Any] = {}
    for message in pending:
        if isinstance(message.metadata, dict):
            metadata.update(message.metadata)

    products = retrieve_products(tenant=tenant, query=query, k=settings.AGENT_RETRIEVED_PRODUCTS)
    language = detect_language(
        " ".join(m.content for m in pending), default=tenant.default_language
    )
    system_prompt = build_system_prompt(
        tenant_name=tenant.name,
        persona=tenant.persona,
        sales_instructions=tenant.sales_instructions,
        language=language,
        crm=crm_context(conversation=conversation),
        metadata=metadata,
        products=products,
        metadata_max_chars=settings.AGENT_METADATA_MAX_CHARS,
    )
    # Messages that arrived during the previous turn were stored before its reply: the
    # model must see that reply first and end on what it is answering now.
    waiting = {m.pk for m in pending}
    ordered = [m for m in history if m.pk not in waiting] + [m for m in history if m.pk in waiting]
    items = [HistoryItem(role=m.role, content=m.content) for m in ordered]
    return TurnInput(
        state=TurnState(tenant=tenant, conversation=conversation, contact=conversation.contact),
        pending_ids=[m.pk for m in pending],
        query=query,
        language=language,
        products=products,
        system_prompt=system_prompt,
        history=history_messages(items, max_chars=settings.AGENT_HISTORY_CHARS),
        metadata=metadata,
        pending=pending,
        messages=ordered,
    )
