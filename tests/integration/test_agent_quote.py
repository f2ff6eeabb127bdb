"""The agent's ``prepare_quote`` tool in real turns: the real ``openai`` SDK against the
OpenAI-compatible fake on 127.0.0.1, a real database and catalog index. The model gives SKUs
and quantities; the catalog gives the prices; the draft is written with the turn's reply."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync

from agent.services import respond
from agent.tools import TOOL_SCHEMAS
from crm.audit import Actor
from crm.models import AuditEntry, LeadOpportunity, Message, Platform
from crm.services import conversation_open, message_add, opportunity_status_set
from quotes.models import Quote
from tenants.scoping import tenant_scope
from tests.factories import ContactFactory, LeadOpportunityFactory, ProductFactory
from tests.helpers_quotes import (
    QUOTE_LINES,
    QUOTE_REPLY,
    QUOTE_REQUEST,
    assert_matches_catalog,
    draft_of,
    load_priced_catalog,
    script_quote_turn,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(tenant_a, catalog_index):
    tenant_a.quote_tax_rate = Decimal("21")
    tenant_a.save()
    load_priced_catalog(tenant_a)
    return tenant_a


def say(tenant, text, *, conversation=None):
    with tenant_scope(tenant):
        if conversation is None:
            contact = ContactFactory(tenant=tenant, platform=Platform.TELEGRAM, full_name="")
            conversation = conversation_open(
                tenant=tenant, contact=contact, channel=Platform.TELEGRAM
            )
        message_add(conversation=conversation, role=Message.Role.USER, content=text)
    return conversation


def turn(conversation, **kwargs):
    return async_to_sync(respond)(conversation, **kwargs)


def tool_results(received) -> list[dict]:
    return [json.loads(m["content"]) for m in received.body["messages"] if m["role"] == "tool"]


def quotes(tenant) -> list[Quote]:
    with tenant_scope(tenant):
        return list(Quote.objects.prefetch_related("lines"))


def replies(tenant, conversation) -> list[Message]:
    with tenant_scope(tenant):
        return list(
            Message.objects.filter(conversation=conversation)
            .exclude(role=Message.Role.USER)
            .order_by("pk")
        )


def script_quote(fake_llm, lines, **arguments):
    """The model quotes at once (no search), then answers."""
    fake_llm.tool_calls(
        ("register_opportunity", {"problem_statement": "Laboratorio de aguas: equipos de pH."}),
        ("prepare_quote", {"lines": lines, **arguments}),
    )
    fake_llm.text("Un comercial le confirmará el presupuesto.")


# A draft with catalog prices ---------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
def test_a_scripted_conversation_ends_with_a_draft_whose_lines_and_prices_are_the_catalogs(
    shop, fake_llm, streaming
):
    script_quote_turn(fake_llm)
    conversation = say(shop, QUOTE_REQUEST)
    tokens: list[str] = []

    async def on_token(text):
        tokens.append(text)

    result = turn(conversation, on_token=on_token if streaming else None)

    assert result.mode == "llm" and result.reply == QUOTE_REPLY
    assert fake_llm.requests[0].tool_names.count("prepare_quote") == 1
    assert "prepare_quote" in fake_llm.requests[0].system_prompt
    quote = draft_of(shop, conversation)
    assert result.quote == quote
    assert_matches_catalog(shop, quote)
    assert (quote.status, quote.created_by_kind) == (Quote.Status.DRAFT, Quote.CreatedBy.AGENT)
    assert quote.total == Decimal("6388.80")  # (2 x 1890 + 1500) x 1.21
    with tenant_scope(shop):
        opportunity = LeadOpportunity.objects.get(conversation=conversation)
        assert quote.opportunity == opportunity and quote.contact_id == conversation.contact_id
        assert quote.notes == "Laboratorio de Aguas del Valle"
        assert AuditEntry.objects.filter(action="quotes.quote.created", note=quote.reference)
    # What the model was told: the catalog's prices and totals, and that a rep confirms.
    told = tool_results(fake_llm.requests[2])[-1]
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in told["lines"]] == [
        ("PH-LAB-3", 2, "1890.00"),
        ("TUR-5200", 1, "1500.00"),
    ]
    assert (told["currency"], told["subtotal"], told["total"]) == ("EUR", "5280.00", "6388.80")
    assert "sales rep will confirm" in told["note"]
    # Not sent: the reply is the only message out, waiting for its channel.
    [reply] = replies(shop, conversation)
    assert reply.content == QUOTE_REPLY and "quote" not in (reply.metadata or {})


def test_the_tool_takes_skus_and_quantities_only(shop, fake_llm):
    [schema] = [t for t in TOOL_SCHEMAS if t["function"]["name"] == "prepare_quote"]
    parameters = schema["function"]["parameters"]
    line = parameters["$defs"]["QuoteLineArgs"]
    assert parameters["additionalProperties"] is False and line["additionalProperties"] is False
    assert set(parameters["properties"]) == {"lines", "notes"}
    assert set(line["properties"]) == {"sku", "quantity"}


# What cannot be quoted ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "why"),
    [
        ([{"sku": "PH-LAB-3", "quantity": 1}, {"sku": "PH-LAB-9000X", "quantity": 1}], "not in"),
        ([{"sku": "PH-KIT-ON-REQUEST", "quantity": 1}], "no price"),
        ([{"sku": "PH-LAB-3", "quantity": 0}], "greater than or equal to 1"),
        ([{"sku": "PH-LAB-3", "quantity": 1.5}], "integer"),
        ([], "at least 1 item"),
    ],
    ids=["invented-sku", "unpriced", "zero", "fraction", "empty"],
)
def test_a_line_that_cannot_be_quoted_is_refused_to_the_model_and_nothing_is_written(
    shop, fake_llm, lines, why
):
    script_quote(fake_llm, lines)
    conversation = say(shop, "Envíeme un presupuesto")

    result = turn(conversation)

    [_, refused] = tool_results(fake_llm.requests[1])
    assert why in refused["error"]
    assert "Nothing was prepared" in refused["error"] or "invalid arguments" in refused["error"]
    assert result.mode == "llm" and result.quote is None
    assert quotes(shop) == []
    with tenant_scope(shop):  # the rest of the turn stands
        assert LeadOpportunity.objects.filter(conversation=conversation).exists()


@pytest.mark.parametrize(
    "arguments",
    [
        {"lines": [{"sku": "PH-LAB-3", "quantity": 2, "unit_price": 1}]},
        {"lines": [{"sku": "PH-LAB-3", "quantity": 2, "price": "1.00 EUR"}]},
        {"lines": [{"sku": "PH-LAB-3", "quantity": 2, "discount": 90}]},
        {"lines": [{"sku": "PH-LAB-3", "quantity": 2}], "price": 1},
        {"lines": [{"sku": "PH-LAB-3", "quantity": 2}], "total": 1},
    ],
    ids=["unit_price", "price", "discount", "quote-price", "quote-total"],
)
def test_a_price_given_by_the_model_is_refused_and_nothing_is_written(shop, fake_llm, arguments):
    fake_llm.tool_calls(
        ("register_opportunity", {"problem_statement": "Laboratorio de aguas: equipos de pH."}),
        ("prepare_quote", arguments),
    )
    fake_llm.text("Un comercial le confirmará el presupuesto.")

    turn(say(shop, "Presupuesto de 2 PH-300 a 1 euro, por favor"))

    [_, refused] = tool_results(fake_llm.requests[1])
    assert refused["error"].startswith("invalid arguments")
    assert "cannot be given: prices come from the catalog only" in refused["error"]
    assert quotes(shop) == []


def test_another_currency_is_refused_with_the_reason(shop, fake_llm):
    with tenant_scope(shop):
        ProductFactory(tenant=shop, sku="US-500", price=Decimal("500"), currency="USD")
    script_quote(fake_llm, [{"sku": "PH-LAB-3", "quantity": 1}, {"sku": "US-500", "quantity": 1}])

    turn(say(shop, "Presupuesto de un PH-300 y un US-500"))

    [_, refused] = tool_results(fake_llm.requests[1])
    assert "US-500 is priced in USD and this quote is in EUR" in refused["error"]
    assert quotes(shop) == []


def test_another_tenants_sku_is_not_in_this_catalog(shop, tenant_b, fake_llm):
    with tenant_scope(tenant_b):
        ProductFactory(tenant=tenant_b, sku="BRAVO-1", price=Decimal("10"), currency="EUR")
    script_quote(fake_llm, [{"sku": "BRAVO-1", "quantity": 1}])

    turn(say(shop, "Presupuesto de un BRAVO-1"))

    assert "not in the catalog" in tool_results(fake_llm.requests[1])[1]["error"]
    assert quotes(shop) == []
    assert quotes(tenant_b) == []


def test_without_an_open_opportunity_the_model_is_told_to_register_one_first(shop, fake_llm):
    fake_llm.tool_calls(("prepare_quote", {"lines": QUOTE_LINES}))
    fake_llm.text("¿Para qué aplicación los necesita?")
    conversation = say(shop, QUOTE_REQUEST)
    with tenant_scope(shop):  # a won opportunity is not quoted again
        won = LeadOpportunityFactory(
            tenant=shop, contact=conversation.contact, conversation=conversation
        )
        opportunity_status_set(
            opportunity=won, status=LeadOpportunity.Status.WON, actor=Actor.agent()
        )

    turn(conversation)

    [refused] = tool_results(fake_llm.requests[1])
    assert "call register_opportunity" in refused["error"]
    assert quotes(shop) == []


# One quote per turn, no duplicates --------------------------------------------------------


def test_a_second_call_in_the_same_turn_does_not_make_a_second_draft(shop, fake_llm):
    fake_llm.tool_calls(
        ("register_opportunity", {"problem_statement": "Laboratorio de aguas: equipos de pH."}),
        ("prepare_quote", {"lines": QUOTE_LINES}),
    )
    fake_llm.tool_calls(("prepare_quote", {"lines": QUOTE_LINES}))
    fake_llm.text(QUOTE_REPLY)
    conversation = say(shop, QUOTE_REQUEST)

    turn(conversation)

    first = tool_results(fake_llm.requests[1])[1]
    second = tool_results(fake_llm.requests[2])[2]
    assert first == second and first["quote"] == "draft prepared"
    assert_matches_catalog(shop, draft_of(shop, conversation))


def test_a_corrected_call_in_the_same_turn_replaces_the_first(shop, fake_llm):
    fake_llm.tool_calls(
        ("register_opportunity", {"problem_statement": "Laboratorio de aguas: equipos de pH."}),
        ("prepare_quote", {"lines": QUOTE_LINES}),
    )
    corrected = [{"sku": "PH-LAB-3", "quantity": 3}]
    fake_llm.tool_calls(("prepare_quote", {"lines": corrected}))
    fake_llm.text(QUOTE_REPLY)
    conversation = say(shop, QUOTE_REQUEST)

    turn(conversation)

    assert "replaces" in tool_results(fake_llm.requests[2])[2]["quote"]
    assert_matches_catalog(shop, draft_of(shop, conversation), corrected)


def test_asking_again_in_a_later_turn_returns_the_draft_with_the_same_lines(shop, fake_llm):
    script_quote_turn(fake_llm)
    conversation = say(shop, QUOTE_REQUEST)
    turn(conversation)
    first = draft_of(shop, conversation)

    fake_llm.tool_calls(
        ("register_opportunity", {"problem_statement": "Laboratorio de aguas: pH y turbidez."}),
        ("prepare_quote", {"lines": QUOTE_LINES}),
    )
    fake_llm.text("Su presupuesto ya está preparado; un comercial lo confirmará.")
    say(shop, "¿Me lo prepara?", conversation=conversation)
    result = turn(conversation)

    # The model knows the draft from the CRM context, and the tool returns it.
    assert (
        f"quotes: {first.reference} draft, total 6388.80 EUR" in fake_llm.requests[-2].system_prompt
    )
    [_, again] = tool_results(fake_llm.requests[-1])
    assert again["quote"] == first.reference and again["total"] == str(first.total)
    assert "nothing new was created" in again["status"]
    assert result.quote is None and draft_of(shop, conversation) == first


# Sent without approval, when the tenant allows it --------------------------------------------


def test_with_sending_allowed_the_draft_is_sent_after_the_reply(shop, fake_llm):
    shop.quotes_send_without_approval = True
    shop.save()
    script_quote_turn(fake_llm, reply="Le envío el presupuesto ahora mismo.")
    conversation = say(shop, QUOTE_REQUEST)

    result = turn(conversation)

    quote = draft_of(shop, conversation)
    assert quote.status == Quote.Status.SENT and result.quote == quote
    assert_matches_catalog(shop, quote)
    told = tool_results(fake_llm.requests[2])[-1]
    assert "sent to the customer right after your reply" in told["note"]
    reply, carrier = replies(shop, conversation)  # the text first, the document last
    assert reply.content == "Le envío el presupuesto ahora mismo." and reply == result.message
    assert carrier.metadata == {"quote": {"key": quote.public_key, "number": quote.number}}
    assert quote.reference in carrier.content
    assert {reply.delivery_status, carrier.delivery_status} == {Message.Delivery.PENDING}
    with tenant_scope(shop):
        opportunity = LeadOpportunity.objects.get(pk=quote.opportunity_id)
    assert opportunity.status == LeadOpportunity.Status.QUOTED


def test_by_default_a_draft_is_not_sent(shop, fake_llm):
    assert shop.quotes_send_without_approval is False
    script_quote_turn(fake_llm)
    conversation = say(shop, QUOTE_REQUEST)

    turn(conversation)

    assert draft_of(shop, conversation).status == Quote.Status.DRAFT
    assert len(replies(shop, conversation)) == 1


def test_an_llm_that_fails_after_preparing_leaves_no_quote_and_a_rep_is_told(
    shop, fake_llm, settings
):
    settings.LLM_MAX_RETRIES = 0
    fake_llm.tool_calls(
        ("register_opportunity", {"problem_statement": "Laboratorio de aguas: equipos de pH."}),
        ("prepare_quote", {"lines": QUOTE_LINES}),
    )
    fake_llm.status(500)
    conversation = say(shop, QUOTE_REQUEST)

    result = turn(conversation)

    assert result.mode == "fallback" and result.quote is None
    assert "le preparará el presupuesto" in result.reply  # the fallback prices nothing
    assert quotes(shop) == []
    with tenant_scope(shop):
        conversation.refresh_from_db()
    assert conversation.needs_attention and "asked for a quote" in conversation.attention_reason


def test_a_turn_that_hands_off_leaves_the_draft_to_the_rep_even_with_sending_allowed(
    shop, fake_llm
):
    shop.quotes_send_without_approval = True
    shop.save()
    fake_llm.tool_calls(
        ("register_opportunity", {"problem_statement": "Laboratorio de aguas: equipos de pH."}),
        ("request_human_handoff", {"reason": "quiere condiciones de pago a 90 días"}),
        ("prepare_quote", {"lines": QUOTE_LINES}),
    )
    fake_llm.text("Un comercial le atenderá y le confirmará el presupuesto.")
    conversation = say(shop, QUOTE_REQUEST + " Y pago a 90 días.")

    turn(conversation)

    assert "sales rep will confirm" in tool_results(fake_llm.requests[1])[2]["note"]
    assert draft_of(shop, conversation).status == Quote.Status.DRAFT
    assert len(replies(shop, conversation)) == 1
