"""The inbox's acceptance step: a press of an accept button (``metadata["quote_accept"]``)
or a typed "acepto" / "I accept" accepts the conversation's sent quote before the agent
runs, answered in the tenant's language and formality; an expired quote is refused
politely and flagged; a key of another conversation or tenant is never accepted; a typed
"acepto" with nothing awaiting, or a longer sentence, goes to the agent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone
from django.utils.translation import gettext, override

from channels_app.inbox import Inbound, conversation_answer, inbound_store
from channels_app.inbox.acceptance import is_plain_acceptance
from channels_app.models import ChannelAccount
from channels_app.quotes import accept_payload, accepted_key
from channels_app.services import channel_account_ensure
from crm.models import Conversation, LeadOpportunity, Message
from quotes.models import Quote
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests.factories import LeadOpportunityFactory, QuoteFactory

pytestmark = pytest.mark.django_db

LLM_REPLY = "Con gusto le ayudo con eso."


def account_for(tenant: Tenant) -> ChannelAccount:
    with tenant_scope(tenant):
        return channel_account_ensure(tenant=tenant, kind="api", name="CRM", values={})[0]


@pytest.fixture
def api_a(tenant_a: Tenant) -> ChannelAccount:
    return account_for(tenant_a)


def receive(
    account: ChannelAccount, text: str, external_id: str, address: str = "cust-1", **extra: Any
) -> Message:
    with tenant_scope(account.tenant):
        inbound = Inbound(address=address, text=text, external_id=external_id, **extra)
        return inbound_store(account=account, inbound=inbound)[0]


def answer(tenant: Tenant, conversation_id: int) -> int:
    return async_to_sync(conversation_answer)(tenant=tenant, conversation_id=conversation_id)


def sent_quote(tenant: Tenant, conversation_id: int, **fields: Any) -> Quote:
    """A quote sent in the conversation (its opportunity qualified)."""
    with tenant_scope(tenant):
        conversation = Conversation.objects.get(pk=conversation_id)
        opportunity = LeadOpportunityFactory(
            tenant=tenant,
            contact=conversation.contact,
            conversation=conversation,
            status=LeadOpportunity.Status.QUOTED,
        )
        values = {"status": Quote.Status.SENT, "sent_at": timezone.now(), **fields}
        return QuoteFactory(tenant=tenant, opportunity=opportunity, **values)


def started(account: ChannelAccount, address: str = "cust-1") -> Message:
    """A conversation with a first message already answered."""
    first = receive(account, "Necesito un presupuesto", f"ext:{address}:0", address=address)
    with tenant_scope(account.tenant):
        Message.objects.filter(pk=first.pk).update(handled_at=timezone.now())
    return first


def state(tenant: Tenant, quote: Quote) -> tuple[str, str, list[str]]:
    """The quote's status, its opportunity's and the bot replies stored, oldest first."""
    with tenant_scope(tenant):
        quote.refresh_from_db()
        opportunity = LeadOpportunity.objects.get(pk=quote.opportunity_id)
        replies = list(
            Message.objects.filter(
                conversation_id=quote.conversation_id, role=Message.Role.ASSISTANT
            )
            .order_by("pk")
            .values_list("content", flat=True)
        )
    return quote.status, opportunity.status, replies


# The button ----------------------------------------------------------------------------


def test_a_pressed_accept_button_accepts_the_quote_without_running_the_agent(api_a, fake_llm):
    first = started(api_a)
    quote = sent_quote(api_a.tenant, first.conversation_id)
    press = receive(
        api_a,
        "Aceptar presupuesto",
        "ext:press:1",
        metadata={"quote_accept": accepted_key(accept_payload(quote.public_key))},
    )
    assert answer(api_a.tenant, press.conversation_id) == 1
    status, opportunity, replies = state(api_a.tenant, quote)
    assert (status, opportunity) == (Quote.Status.ACCEPTED, LeadOpportunity.Status.WON)
    assert replies == [
        f"¡Gracias! Hemos recibido su aceptación del presupuesto {quote.reference}. Un asesor "
        "comercial le contactará para los siguientes pasos."
    ]
    assert fake_llm.requests == []  # the agent never ran for it
    with tenant_scope(api_a.tenant):
        press.refresh_from_db()
        reply = Message.objects.get(role=Message.Role.ASSISTANT)
        conversation = Conversation.objects.get(pk=press.conversation_id)
    assert press.handled_at is not None
    assert reply.metadata["quote_answer"] == {"status": "quote_accepted", "key": quote.public_key}
    assert reply.delivery_status == Message.Delivery.SENT
    assert conversation.needs_attention and quote.reference in conversation.attention_reason
    assert quote.accepted_at is not None


def test_the_reply_uses_the_tenants_own_wording_and_formality(api_a, fake_llm):
    Tenant.objects.filter(pk=api_a.tenant_id).update(
        formality="informal",
        fallback_wording={"es.quote_accepted": "¡Hecho! {ref} aceptado, te llamamos hoy."},
    )
    api_a.tenant.refresh_from_db()
    first = started(api_a)
    quote = sent_quote(api_a.tenant, first.conversation_id)
    receive(api_a, "Aceptar", "ext:press:1", metadata={"quote_accept": quote.public_key})
    answer(api_a.tenant, first.conversation_id)
    assert state(api_a.tenant, quote)[2] == [
        f"¡Hecho! {quote.reference} aceptado, te llamamos hoy."
    ]


def test_an_expired_quote_is_refused_politely_and_the_conversation_flagged(api_a, fake_llm):
    first = started(api_a)
    quote = sent_quote(
        api_a.tenant, first.conversation_id, valid_until=timezone.localdate() - timedelta(days=1)
    )
    receive(
        api_a, "Aceptar presupuesto", "ext:press:1", metadata={"quote_accept": quote.public_key}
    )
    assert answer(api_a.tenant, first.conversation_id) == 1
    status, opportunity, replies = state(api_a.tenant, quote)
    assert (status, opportunity) == (Quote.Status.EXPIRED, LeadOpportunity.Status.QUOTED)
    assert len(replies) == 1
    assert replies[0].startswith(f"El presupuesto {quote.reference} caducó el ")
    assert "le enviará uno nuevo" in replies[0]
    assert fake_llm.requests == []
    with tenant_scope(api_a.tenant):
        conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.needs_attention
    with override("es"):  # the tenant's language
        expected = gettext(
            "The customer tried to accept %(ref)s, which has expired: send a new quote."
        ) % {"ref": quote.reference}
    assert conversation.attention_reason == expected


@pytest.mark.parametrize("whose", ["other_conversation", "other_tenant", "forged"])
def test_a_key_that_is_not_this_conversations_quote_is_never_accepted(
    api_a, tenant_b, fake_llm, whose
):
    first = started(api_a)
    mine = sent_quote(api_a.tenant, first.conversation_id)
    if whose == "other_conversation":
        other = started(api_a, address="cust-2")
        foreign = sent_quote(api_a.tenant, other.conversation_id)
        key, tenant = foreign.public_key, api_a.tenant
    elif whose == "other_tenant":
        api_b = account_for(tenant_b)
        other = started(api_b)
        foreign = sent_quote(tenant_b, other.conversation_id)
        key, tenant = foreign.public_key, tenant_b
    else:
        foreign, key, tenant = None, "no-such-key", api_a.tenant
    receive(api_a, "Aceptar presupuesto", "ext:press:1", metadata={"quote_accept": key})
    assert answer(api_a.tenant, first.conversation_id) == 1
    assert state(api_a.tenant, mine)[:2] == (Quote.Status.SENT, LeadOpportunity.Status.QUOTED)
    replies = state(api_a.tenant, mine)[2]
    assert replies == [
        "No encuentro ese presupuesto en esta conversación. Un asesor comercial lo revisará y "
        "le contactará en breve."
    ]
    if foreign is not None:
        assert state(tenant, foreign)[:2] == (Quote.Status.SENT, LeadOpportunity.Status.QUOTED)
    assert fake_llm.requests == []


def test_a_press_in_a_conversation_a_rep_has_still_accepts_and_is_answered(api_a, fake_llm):
    first = started(api_a)
    quote = sent_quote(api_a.tenant, first.conversation_id)
    with tenant_scope(api_a.tenant):
        Conversation.objects.update(status=Conversation.Status.HANDED_OFF)
    receive(api_a, "Aceptar", "ext:press:1", metadata={"quote_accept": quote.public_key})
    answer(api_a.tenant, first.conversation_id)
    status, _, replies = state(api_a.tenant, quote)
    assert status == Quote.Status.ACCEPTED and len(replies) == 1
    with tenant_scope(api_a.tenant):
        reply = Message.objects.get(role=Message.Role.ASSISTANT)
    assert reply.delivery_status == Message.Delivery.SENT  # not held back by the take-over


# Typed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("es", "Acepto", "¡Gracias! Hemos recibido su aceptación del presupuesto"),
        ("es", "Sí, lo acepto.", "¡Gracias! Hemos recibido su aceptación del presupuesto"),
        ("en", "I accept!", "Thank you! We have received your acceptance of quote"),
        ("en", "we accept", "Thank you! We have received your acceptance of quote"),
    ],
)
def test_a_typed_acceptance_accepts_the_newest_sent_quote(
    api_a, fake_llm, language, text, expected
):
    Tenant.objects.filter(pk=api_a.tenant_id).update(default_language=language)
    api_a.tenant.refresh_from_db()
    first = started(api_a)
    older = sent_quote(
        api_a.tenant, first.conversation_id, sent_at=timezone.now() - timedelta(hours=2)
    )
    newest = sent_quote(api_a.tenant, first.conversation_id)
    receive(api_a, text, "ext:typed:1")
    assert answer(api_a.tenant, first.conversation_id) == 1
    status, opportunity, replies = state(api_a.tenant, newest)
    assert (status, opportunity) == (Quote.Status.ACCEPTED, LeadOpportunity.Status.WON)
    assert replies == [replies[0]] and replies[0].startswith(f"{expected} {newest.reference}")
    assert state(api_a.tenant, older)[0] == Quote.Status.SENT
    assert fake_llm.requests == []
    with tenant_scope(api_a.tenant):
        conversation = Conversation.objects.get(pk=first.conversation_id)
    assert "(text)" in conversation.attention_reason  # accepted by typing


def test_a_typed_acceptance_naming_a_quote_accepts_that_one(api_a, fake_llm):
    first = started(api_a)
    older = sent_quote(
        api_a.tenant, first.conversation_id, sent_at=timezone.now() - timedelta(hours=2)
    )
    newest = sent_quote(api_a.tenant, first.conversation_id)
    receive(api_a, f"Acepto el presupuesto {older.reference}", "ext:typed:1")
    answer(api_a.tenant, first.conversation_id)
    assert state(api_a.tenant, older)[0] == Quote.Status.ACCEPTED
    assert state(api_a.tenant, newest)[0] == Quote.Status.SENT


def test_a_typed_acepto_with_no_quote_awaiting_goes_to_the_agent(api_a, fake_llm):
    fake_llm.text(LLM_REPLY)
    first = started(api_a)
    accepted = sent_quote(api_a.tenant, first.conversation_id, status=Quote.Status.ACCEPTED)
    receive(api_a, "Acepto", "ext:typed:1")
    assert answer(api_a.tenant, first.conversation_id) == 1
    assert state(api_a.tenant, accepted)[2] == [LLM_REPLY]
    assert len(fake_llm.requests) == 1


def test_a_longer_sentence_goes_to_the_agent_and_accepts_nothing(api_a, fake_llm):
    fake_llm.text(LLM_REPLY)
    first = started(api_a)
    quote = sent_quote(api_a.tenant, first.conversation_id)
    receive(api_a, "Acepto si me hacen un 10 % de descuento en las sondas", "ext:typed:1")
    answer(api_a.tenant, first.conversation_id)
    status, _, replies = state(api_a.tenant, quote)
    assert status == Quote.Status.SENT and replies == [LLM_REPLY]


def test_an_acceptance_and_a_question_together_are_both_answered(api_a, fake_llm):
    fake_llm.text(LLM_REPLY)
    first = started(api_a)
    quote = sent_quote(api_a.tenant, first.conversation_id)
    receive(api_a, "acepto", "ext:typed:1")
    question = receive(api_a, "¿Cuándo llega el pedido?", "ext:typed:2")
    assert answer(api_a.tenant, first.conversation_id) == 2
    status, _, replies = state(api_a.tenant, quote)
    assert status == Quote.Status.ACCEPTED
    assert replies[0].startswith("¡Gracias!") and replies[1] == LLM_REPLY
    prompt = fake_llm.requests[0].body["messages"]
    assert prompt[-1]["content"] == question.content  # the agent answers the question


@pytest.mark.parametrize(
    ("text", "accepts"),
    [
        ("acepto", True),
        ("ACEPTO!!", True),
        ("Aceptamos el presupuesto, gracias", True),
        ("acepto el presupuesto Q-00042", True),
        ("Ok, I accept", True),
        ("accept", True),
        ("Aceito", True),
        ("acepto pero con otra cantidad", False),
        ("no acepto", False),
        ("¿acepta tarjeta?", False),
        ("I accept the terms but need a lower price", False),
        ("", False),
    ],
)
def test_what_counts_as_a_plain_acceptance(text, accepts):
    assert is_plain_acceptance(text) is accepts


@pytest.mark.parametrize("status", [Conversation.Status.ACTIVE, Conversation.Status.HANDED_OFF])
def test_a_turn_never_takes_a_press_that_arrived_after_the_acceptance_step(api_a, status):
    """The race: a press stored between the inbox's acceptance step and the agent loading
    its turn stays waiting for the step (never answered, nor marked taken, by the turn)."""
    from agent.context import turn_load

    first = started(api_a)
    quote = sent_quote(api_a.tenant, first.conversation_id)
    press = receive(api_a, "Aceptar", "ext:press:1", metadata={"quote_accept": quote.public_key})
    with tenant_scope(api_a.tenant):
        Conversation.objects.update(status=status)
        assert turn_load(tenant=api_a.tenant, conversation_id=first.conversation_id) is None
        press.refresh_from_db()
    assert press.handled_at is None
    answer(api_a.tenant, first.conversation_id)  # the next run's step accepts it
    assert state(api_a.tenant, quote)[0] == Quote.Status.ACCEPTED
