"""The reply when no LLM can answer (no key, or the LLM failed): it still sells.

:func:`fallback_respond` reads the turn's waiting customer messages together (a burst is
answered once) with ``agent.fallback_intents``, and, without an LLM:

- stores the name, e-mail and phone the customer gives on their contact, and says so;
- hands the conversation to a rep when the customer asks for a person;
- never prices a quote: when the customer asks for one, says a rep will prepare it and flags
  the conversation for a rep, saying why;
- reads a budget and lists only the catalog products within it (never one above it), saying
  so; without a budget, the best matches;
- registers the conversation's opportunity, with the listed products as recommendations and
  a value, once a need and a way to reach the customer are known, and again only when the
  need or the budget changes;
- answers greetings and thanks without a product list, and does not send the product list it
  has just sent again (it asks for details instead);
- speaks the customer's language (Spanish, English, Portuguese), in Spanish with the tenant's
  usted or tú, in the tenant's own wording where it has one (``tenants.wording``).

It stages its effects on the turn's :class:`agent.tools.TurnState`, like the LLM's tools, and
``agent.services.turn_commit`` writes them through ``crm.services`` with the reply. The reply
carries what it listed (``metadata["fallback"]``), so the next turn knows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from agent.fallback_intents import Budget, read_messages
from agent.language import detect_language
from agent.prompt import ProductBrief
from catalog.models import Product
from catalog.search import search
from catalog.text import words
from crm.models import Message, Platform
from tenants.wording import default_text, tenant_text

if TYPE_CHECKING:
    from agent.context import TurnInput
    from agent.tools import TurnState

MAX_PRODUCTS = 3
CANDIDATES = 8  # products searched, of which the budget keeps the ones within it
DESCRIBED = 400  # characters of a product's description read for the words of a need
RELEVANT = 0.75  # a product listed is at least this relevant, relative to the best listed
MAX_NEEDS = 5  # customer messages quoted in the opportunity's problem statement
# Currencies close enough in value that a price in one is compared with a budget in another
# at face value (a 3,450 USD product is above a 3,000 EUR budget); any other pair is not
# compared: the product is listed only when nothing known to fit comes before it.
NEAR_PAR = frozenset({"EUR", "USD", "GBP", "CHF"})
HANDOFF_REASON = "the customer asked for a person (answered without an LLM)"
QUOTE_REASON = "the customer asked for a quote: prepare it (answered without an LLM)"

# What the rep reads (not customer-facing, so not tenant wording).
_NOTES = {
    "es": {
        "budget": "Presupuesto: {budget}",
        "why": "Coincide en el catálogo con lo que pide el cliente: «{need}».",
        "within": " Dentro de su presupuesto de {budget}.",
        "who": " (Propuesto sin LLM: revíselo.)",
    },
    "en": {
        "budget": "Budget: {budget}",
        "why": "Matches in the catalog what the customer asks for: “{need}”.",
        "within": " Within their budget of {budget}.",
        "who": " (Suggested without an LLM: please review.)",
    },
    "pt": {
        "budget": "Orçamento: {budget}",
        "why": "Corresponde no catálogo ao que o cliente pede: «{need}».",
        "within": " Dentro do orçamento de {budget}.",
        "who": " (Proposto sem LLM: reveja-o.)",
    },
}


@dataclass
class FallbackReply:
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)  # stored with the reply


@dataclass
class _Ranked:
    """The products for a need, the budget applied."""

    listed: list[Product]  # what the reply lists, best first
    recommended: list[Product]  # what the opportunity recommends
    intro: str  # the wording key before the list, or the one that says nothing fits


def fallback_reply(*, language: str, products: list[ProductBrief]) -> str:
    """The plain catalog answer (products, or none, and a rep will follow up), built-in
    wording, formal."""

    def text(key: str) -> str:
        return default_text(language=language, formality="formal", key=key)

    if not products:
        return f"{text('no_products')}\n{text('outro')}"
    lines = [text("products")]
    for product in products[:MAX_PRODUCTS]:
        price = product.price or text("price_on_request")
        line = f"- {product.name} (SKU {product.sku}), {price}"
        if product.url:
            line += f": {product.url}"
        lines.append(line)
    lines.append(text("outro"))
    return "\n".join(lines)


def _fits(product: Product, budget: Budget) -> bool | None:
    """Whether the product's price is within the budget; None when it cannot be told."""
    if product.price is None:
        return None
    currency = budget.currency or product.currency
    comparable = (
        not product.currency
        or product.currency == currency
        or {product.currency, currency} <= NEAR_PAR
    )
    if not comparable:
        return None
    return product.price <= budget.amount


def _closest(found: list[Product], relevance: dict[int, float]) -> list[Product]:
    """The best ``MAX_PRODUCTS`` of ``found``: the most relevant first (the search order
    among equals), without those far less relevant than the best of them."""
    best = max((relevance.get(p.pk, 0.0) for p in found), default=0.0)
    kept = [p for p in found if relevance.get(p.pk, 0.0) >= RELEVANT * best]
    return sorted(kept, key=lambda p: -relevance.get(p.pk, 0.0))[:MAX_PRODUCTS]


def rank_products(
    products: list[Product], budget: Budget | None, relevance: dict[int, float] | None = None
) -> _Ranked:
    """With a budget: the products within it (listed and recommended); when none is, those
    whose price cannot be compared (listed, not recommended); never one above it. Among
    them, the most relevant (``relevance`` by product id, see :func:`_search_products`)."""
    relevance = relevance or {}
    if budget is None:
        best = _closest(products, relevance)
        return _Ranked(listed=best, recommended=best, intro="products" if best else "no_products")
    within = _closest([p for p in products if _fits(p, budget) is True], relevance)
    if within:
        return _Ranked(listed=within, recommended=within, intro="products_in_budget")
    unknown = _closest([p for p in products if _fits(p, budget) is None], relevance)
    if unknown:
        return _Ranked(listed=unknown, recommended=[], intro="products_unpriced")
    return _Ranked(listed=[], recommended=[], intro="no_products_in_budget")


def _search_products(state: TurnState, query: str) -> tuple[list[Product], dict[int, float]]:
    """The catalog's matches for the need, in the search's order, and how relevant each is:
    the words of the need its SKU, name, category or description's start shares, each
    weighed by how few of the matches share it ("turbidímetro" counts more than
    "laboratorio"). When some share words, those that share none are left out (the search
    always fills its ``k``)."""
    hits = search(tenant=state.tenant, query=query, k=max(CANDIDATES, MAX_PRODUCTS))
    rows = Product.objects.filter(pk__in=[h.product_id for h in hits], is_active=True).only(
        "sku", "name", "category", "price", "currency", "url", "clean_text"
    )
    by_id = {p.pk: p for p in rows}
    found = [by_id[h.product_id] for h in hits if h.product_id in by_id]
    wanted = set(words(query))
    shared = {
        p.pk: wanted & set(words(f"{p.sku} {p.name} {p.category} {p.clean_text[:DESCRIBED]}"))
        for p in found
    }
    carriers = Counter(word for common in shared.values() for word in common)
    relevance = {pk: sum(1 / carriers[w] for w in common) for pk, common in shared.items()}
    if any(relevance.values()):
        found = [p for p in found if relevance[p.pk]]
    return found, relevance


def _clear_staged(state: TurnState) -> None:
    """Forget what an LLM that then failed staged: the fallback decides alone."""
    state.contact_changes = {}
    state.company_name = state.division_name = ""
    state.opportunity = None
    state.opportunity_values = {}
    state.recommendations = {}
    state.handoff_reason = ""
    state.quote = None
    state.flag_reason = ""


def _last_listing(messages: list[Message]) -> tuple[str, list[str]]:
    """(the kind of the bot's last reply, the SKUs of the last product list it sent)."""
    kind, listed = "", None
    for message in reversed(messages):
        if message.role != Message.Role.ASSISTANT:
            continue
        meta = message.metadata.get("fallback") if isinstance(message.metadata, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        if kind == "" and listed is None:
            kind = str(meta.get("kind", "other"))
        if meta.get("listed"):
            listed = [str(sku) for sku in meta["listed"]]
            break
    return kind, listed or []


def _join(items: list[str], word: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def fallback_respond(turn: TurnInput) -> FallbackReply:
    """The reply to the turn's waiting customer messages, with its effects staged on
    ``turn.state``. Reads the database (the caller holds the tenant's scope); writes nothing."""
    state = turn.state
    tenant, contact = state.tenant, state.contact
    _clear_staged(state)
    waiting = set(turn.pending_ids)
    pending = [m.content for m in turn.pending]
    earlier = [
        m.content for m in turn.messages if m.role == Message.Role.USER and m.pk not in waiting
    ]
    now, before = read_messages(pending), read_messages(earlier)
    conversation_language = detect_language(
        " ".join([*earlier, *pending]), default=tenant.default_language
    )
    language = detect_language(" ".join(pending), default=conversation_language)

    def text(key: str, **values: Any) -> str:
        return tenant_text(
            wording=tenant.fallback_wording or {},
            formality=tenant.formality,
            language=language,
            key=key,
            **values,
        )

    parts: list[str] = []
    # The contact ---------------------------------------------------------------------
    fields = []
    if now.name and now.name != contact.full_name:
        state.contact_changes["full_name"] = now.name
    if now.email and now.email != contact.email:
        state.contact_changes["email"] = now.email
        fields.append(text("field_email", email=now.email))
    if now.phone and now.phone != contact.phone_number:
        state.contact_changes["phone_number"] = now.phone
        fields.append(text("field_phone", phone=now.phone))
    if "full_name" in state.contact_changes and not fields:
        fields.append(text("field_name"))
    first_name = (now.name or before.name).split(" ")[0]
    if fields:
        saved = _join(fields, text("and"))
        if first_name:
            parts.append(text("saved_named", name=first_name, fields=saved))
        else:
            parts.append(text("saved", fields=saved))
    reachable = bool(contact.email or contact.phone_number or now.email or now.phone)
    contact_known = bool(
        reachable
        or now.name
        or before.name
        or (contact.full_name and contact.platform != Platform.WIDGET)
    )

    # The need, the budget, the products ------------------------------------------------
    budget = now.budget or before.budget
    budget_new = now.budget is not None and now.budget != before.budget
    needs = list(dict.fromkeys([*before.needs, *now.needs]))
    changed = bool(now.needs) or (budget_new and bool(needs))
    opportunity = state.open_opportunity()
    register = bool(needs and contact_known and (opportunity is None or changed))
    ranked = None
    if changed or register:
        query = " ".join(now.needs)
        if not query or (len(query.split()) < 4 and before.needs):
            query = " ".join([*before.needs[-1:], query]).strip()
        found, relevance = _search_products(state, query)
        ranked = rank_products(found, budget, relevance)
    if register and ranked is not None:
        _stage_opportunity(state, language, needs, budget, ranked)

    kind = "other"
    listed: list[str] = []
    if now.wants_human:
        kind = "handoff"
        state.handoff_reason = HANDOFF_REASON
        parts.append(text("handoff"))
        if not reachable:
            parts.append(text("handoff_ask_contact"))
    elif now.wants_quote:
        # No prices are made up: a rep prepares the quote from the catalog.
        kind = "quote_request"
        state.flag_reason = QUOTE_REASON
        parts.append(text("quote_request"))
        if not reachable:
            parts.append(text("ask_contact"))
    elif changed and ranked is not None:
        last_kind, last_listed = _last_listing(turn.messages)
        skus = [p.sku for p in ranked.listed]
        if skus and skus == last_listed and not budget_new:
            kind = "noted" if last_kind in ("repeat", "noted") else "repeat"
            parts.append(text(kind))
        else:
            kind, listed = "products", skus
            parts.append(_product_list(ranked, budget, language, text))
            if opportunity is None and register:
                parts.append(text("opportunity"))
            elif not contact_known:
                parts.append(text("ask_contact"))
            else:
                parts.append(text("outro"))
    elif fields:
        kind = "saved"
        if opportunity is None and register:
            parts.append(text("opportunity"))
        elif needs:
            parts.append(text("outro"))
        else:
            parts.append(text("ask_need"))
    elif now.thanks:
        kind = "thanks"
        parts.append(text("thanks"))
    elif now.greeting:
        kind = "greeting"
        parts.append(text("greeting", tenant=tenant.name))
    elif needs:
        kind = "noted"
        parts.append(text("noted"))
    else:
        kind = "ask_need"
        parts.append(text("ask_need"))
    return FallbackReply(
        text="\n".join(part for part in parts if part),
        metadata={"fallback": {"kind": kind, "listed": listed, "language": language}},
    )


def _product_list(
    ranked: _Ranked, budget: Budget | None, language: str, text: Callable[..., str]
) -> str:
    shown = budget.display(language) if budget else ""
    lines = [text(ranked.intro, budget=shown)]
    for product in ranked.listed:
        if product.price is not None:
            price = Budget(amount=product.price, currency=product.currency).display(language)
        else:
            price = text("price_on_request")
        line = f"- {product.name} (SKU {product.sku}), {price}"
        if product.url:
            line += f": {product.url}"
        lines.append(line)
    return "\n".join(lines)


def _stage_opportunity(
    state: TurnState, language: str, needs: list[str], budget: Budget | None, ranked: _Ranked
) -> None:
    notes = _NOTES.get(language, _NOTES["es"])
    lines = needs[-MAX_NEEDS:]
    shown = budget.display(language) if budget else ""
    if budget is not None:
        lines.append(notes["budget"].format(budget=shown))
    statement = "\n".join(lines)[:4000]
    need = " ".join(needs[-MAX_NEEDS:])[:200]
    why = notes["why"].format(need=need)
    if budget is not None:
        why += notes["within"].format(budget=shown)
    why += notes["who"]
    state.opportunity = {"problem_statement": statement, "status": "qualified"}
    for product in ranked.recommended:
        state.recommendations[product.sku] = (product, why)
    priced = [p for p in ranked.recommended if p.price is not None]
    if priced:
        state.opportunity_values = {"value": priced[0].price, "currency": priced[0].currency}
    elif budget is not None:
        state.opportunity_values = {"value": budget.amount, "currency": budget.currency}


def settle_seconds() -> float:
    """How long the fallback waits after a customer's last message before answering, so that
    a burst of messages gets one reply (``AGENT_FALLBACK_SETTLE_SECONDS``)."""
    return max(0.0, settings.AGENT_FALLBACK_SETTLE_SECONDS)
