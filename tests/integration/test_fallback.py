"""The fallback agent's turns on a real database and catalog index: usted or tú, a tenant's
own wording (never another's), a burst answered once, no list sent twice, the opportunity
registered once per need, the handoff, the budget, and how a fallback turn is logged."""

from __future__ import annotations

import asyncio
import logging

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from agent.services import respond
from crm.models import AuditEntry, Contact, Conversation, LeadOpportunity, Message, Platform
from crm.services import conversation_open, message_add
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests.factories import ContactFactory
from tests.factories.catalog import load
from tests.factories.priced_catalog import OVER_BUDGET, PRICED

pytestmark = pytest.mark.django_db

NEED = "Necesito un medidor de pH para el laboratorio"


@pytest.fixture(autouse=True)
def no_key(settings, catalog_index):
    settings.LLM_API_KEY = ""
    settings.AGENT_FALLBACK_SETTLE_SECONDS = 0


def shop(tenant: Tenant, **fields) -> Tenant:
    assert load(tenant, PRICED).created == len(PRICED)
    for name, value in fields.items():
        setattr(tenant, name, value)
    tenant.save()
    return tenant


@pytest.fixture
def shop_a(tenant_a):
    return shop(tenant_a)


def open_conversation(tenant, *, name="", channel=Platform.WIDGET, email="") -> Conversation:
    with tenant_scope(tenant):
        contact = ContactFactory(tenant=tenant, platform=channel, full_name=name, email=email)
        return conversation_open(tenant=tenant, contact=contact, channel=channel)


def say(conversation: Conversation, *texts: str) -> None:
    with tenant_scope(conversation.tenant):
        for text in texts:
            message_add(conversation=conversation, role=Message.Role.USER, content=text)


def answer(conversation: Conversation, *texts: str) -> str:
    """The customer writes ``texts``; the bot's one reply."""
    say(conversation, *texts)
    result = async_to_sync(respond)(conversation)
    assert result is not None and result.mode == "fallback"
    return result.reply


def replies(conversation) -> list[Message]:
    with tenant_scope(conversation.tenant):
        return list(conversation.messages.filter(role=Message.Role.ASSISTANT))


# usted or tú; the tenant's wording --------------------------------------------------------


def test_spanish_follows_the_tenants_formality(tenant_a, tenant_b):
    formal = open_conversation(shop(tenant_a, formality=Tenant.Formality.FORMAL))
    informal = open_conversation(shop(tenant_b, formality=Tenant.Formality.INFORMAL))
    usted, tu = answer(formal, NEED), answer(informal, NEED)
    assert "lo que busca:" in usted and "Si me deja su nombre" in usted
    assert "lo que buscas:" in tu and "Si me dejas tu nombre" in tu
    # English is English whatever the formality.
    english = answer(open_conversation(tenant_b), "I need a pH meter for my lab")
    assert "If you leave me your name" in english


def test_a_tenants_wording_is_its_own(tenant_a, tenant_b):
    shop(tenant_a, fallback_wording={"es.greeting": "¡Bienvenido a {tenant}, el de Alpha!"})
    shop(tenant_b)
    alpha = answer(open_conversation(tenant_a), "Hola")
    bravo = answer(open_conversation(tenant_b), "Hola")
    assert alpha == "¡Bienvenido a Alpha Labs, el de Alpha!"
    assert "Alpha" not in bravo and bravo.startswith("¡Hola! Soy el asistente virtual de Bravo")


def test_a_broken_stored_wording_still_answers(tenant_a):
    shop(tenant_a, fallback_wording={"es.greeting": "Hola {customer", "es.thanks": 42})
    conversation = open_conversation(tenant_a)
    assert answer(conversation, "Hola").startswith("¡Hola! Soy el asistente virtual")
    assert answer(conversation, "gracias") == "¡De nada! Si necesita algo más, aquí estoy."


# Greeting, thanks, contact details --------------------------------------------------------


def test_greetings_and_thanks_get_no_product_list(shop_a):
    conversation = open_conversation(shop_a)
    assert "SKU" not in answer(conversation, "Buenas tardes")
    assert "SKU" in answer(conversation, NEED)
    thanks = answer(conversation, "¡Muchas gracias!")
    assert thanks == "¡De nada! Si necesita algo más, aquí estoy."


def test_contact_details_are_stored_and_acknowledged(shop_a):
    conversation = open_conversation(shop_a, name="Web visitor abc123")
    reply = answer(conversation, "Soy Ana Pérez, mi teléfono es +34 612 345 678")
    assert reply.startswith("Gracias, Ana: he guardado su teléfono +34612345678.")
    assert "SKU" not in reply and "¿En qué puedo ayudarle?" in reply  # no need known yet
    with tenant_scope(shop_a):
        contact = Contact.objects.get(pk=conversation.contact_id)
        assert (contact.full_name, contact.phone_number) == ("Ana Pérez", "+34612345678")
        entry = AuditEntry.objects.get(contact=contact, action="crm.contact.updated")
        assert entry.actor_kind == "agent"
    # Said again, nothing new to save: no acknowledgement.
    assert "guardado" not in answer(conversation, "mi teléfono es +34 612 345 678")


# A burst, no list twice ------------------------------------------------------------------


def test_a_burst_of_messages_gets_one_reply_that_takes_them_all_in(shop_a):
    conversation = open_conversation(shop_a)
    burst = [
        "hola",
        "buenas",
        "necesito un medidor de pH",
        "para el laboratorio",
        "me llamo Ana",
        "presupuesto 2.000 €",
        "mejor hasta 3.000 €",
        "mi correo es ana@example.com",
        "¿hola?",
    ]
    reply = answer(conversation, *burst)
    assert len(replies(conversation)) == 1
    assert reply.startswith("Gracias, Ana: he guardado su e-mail ana@example.com.")
    assert "presupuesto de 3.000 EUR" in reply and OVER_BUDGET not in reply
    assert "He registrado su consulta" in reply
    with tenant_scope(shop_a):
        assert not Message.objects.filter(role=Message.Role.USER, handled_at=None).exists()
        opportunity = LeadOpportunity.objects.get()
    assert "para el laboratorio" in opportunity.problem_statement
    assert "Presupuesto: 3.000 EUR" in opportunity.problem_statement


def test_messages_that_arrive_while_the_fallback_waits_are_answered_with_it(shop_a, settings):
    settings.AGENT_FALLBACK_SETTLE_SECONDS = 0.6
    conversation = open_conversation(shop_a)
    say(conversation, "necesito un medidor de pH")

    async def scenario():
        turn = asyncio.create_task(respond(conversation))
        await asyncio.sleep(0.2)
        await sync_to_async(say)(conversation, "me llamo Ana, ana@example.com")
        return await turn

    result = async_to_sync(scenario)()
    assert "Gracias, Ana" in result.reply and "SKU" in result.reply
    assert len(replies(conversation)) == 1


def test_the_same_list_is_not_sent_again(shop_a):
    conversation = open_conversation(shop_a)
    first = answer(conversation, NEED)
    assert first.count("SKU") == 3
    again = answer(conversation, "necesito un medidor de pH para el laboratorio, por favor")
    assert "SKU" not in again and again.startswith("Los productos que le indiqué arriba")
    third = answer(conversation, "medidor de pH laboratorio")
    assert third.startswith("Anotado.")
    # A new budget changes what fits: the list comes again, within it.
    budget = answer(conversation, "mi presupuesto es de 100 €")
    assert "Dentro de su presupuesto de 100 EUR" in budget
    assert "PH-POCKET-50" in budget and "PH-LAB-3" not in budget


# Opportunity, handoff, budget -------------------------------------------------------------


def test_the_opportunity_is_registered_once_per_need(shop_a):
    conversation = open_conversation(shop_a, name="Laura Gómez", channel=Platform.TELEGRAM)
    reply = answer(conversation, NEED + ", hasta 2.000 EUR")
    assert "He registrado su consulta" in reply
    with tenant_scope(shop_a):
        opportunity = LeadOpportunity.objects.get()
        skus = set(opportunity.recommendations.values_list("product_sku", flat=True))
        trail = AuditEntry.objects.filter(opportunity=opportunity).count()
        assert (opportunity.value, opportunity.currency) == (1890, "EUR")
    assert skus == {"PH-LAB-3", "PH-POCKET-50"}  # within 2,000; not the 3,450 one
    answer(conversation, "gracias")
    answer(conversation, "¿hola?")
    with tenant_scope(shop_a):
        assert AuditEntry.objects.filter(opportunity=opportunity).count() == trail
    # A new need updates the same opportunity.
    answer(conversation, "también un turbidímetro portátil")
    with tenant_scope(shop_a):
        assert LeadOpportunity.objects.count() == 1
        opportunity.refresh_from_db()
        assert "turbidímetro" in opportunity.problem_statement
        assert "TUR-5200" in set(opportunity.recommendations.values_list("product_sku", flat=True))


def test_no_opportunity_without_a_way_to_reach_the_customer(shop_a):
    conversation = open_conversation(shop_a, name="Web visitor x1")
    assert "Si me deja su nombre" in answer(conversation, NEED)
    with tenant_scope(shop_a):
        assert not LeadOpportunity.objects.exists()


def test_a_request_for_a_person_hands_off(shop_a):
    conversation = open_conversation(shop_a)
    reply = answer(conversation, "¿Puedo hablar con una persona?")
    assert reply.startswith("Por supuesto. He pedido a un asesor comercial")
    assert "déjeme su e-mail o su teléfono" in reply  # nothing to reach them by yet
    assert "SKU" not in reply
    with tenant_scope(shop_a):
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.HANDED_OFF
        assert "asked for a person" in conversation.attention_reason
        (reply_message,) = replies(conversation)
        assert reply_message.metadata["handoff"] is True
    say(conversation, "¿sigue ahí?")
    assert async_to_sync(respond)(conversation) is None  # the bot is done: a rep answers


def test_nothing_above_the_budget_is_listed(shop_a):
    conversation = open_conversation(shop_a, email="lab@example.com")
    reply = answer(conversation, "Necesito un medidor de pH de laboratorio, presupuesto 50 €")
    # Every priced pH meter costs more: only the one without a price, for a rep to confirm.
    assert "un asesor le confirmará si entran en su presupuesto de 50 EUR" in reply
    assert reply.count("SKU") == 1 and "PH-KIT-ON-REQUEST), precio a consultar" in reply
    with tenant_scope(shop_a):
        opportunity = LeadOpportunity.objects.get()
        assert not opportunity.recommendations.exists()  # not known to fit: not recommended
        assert (opportunity.value, opportunity.currency) == (50, "EUR")
    none = answer(conversation, "también un turbidímetro portátil, hasta 100 €")
    assert "SKU" not in none
    assert none.startswith(
        "No encontré en nuestro catálogo un producto para lo que busca dentro de su "
        "presupuesto de 100 EUR"
    )


def test_english_in_a_spanish_tenant(shop_a):
    conversation = open_conversation(shop_a)
    reply = answer(conversation, "Hi, I need a pH meter for the lab, budget under $2,000")
    assert reply.startswith("Within your budget of 2,000 USD")
    assert "1,890 EUR" in reply and OVER_BUDGET not in reply
    # A message that says nothing of its language keeps the conversation's.
    assert answer(conversation, "John, john@example.com").startswith("Thank you: I've saved")


# Logging ----------------------------------------------------------------------------------


def test_a_fallback_turn_without_a_key_logs_at_info(shop_a, caplog):
    conversation = open_conversation(shop_a)
    with caplog.at_level(logging.INFO, logger="agent.services"):
        answer(conversation, NEED)
    lines = [r for r in caplog.records if "fallback reply for conversation" in r.getMessage()]
    assert [r.levelno for r in lines] == [logging.INFO]


def test_an_llm_failure_still_warns_and_drops_what_its_tools_staged(shop_a, fake_llm, caplog):
    fake_llm.tool_calls(("save_contact_info", {"full_name": "Invented Name"}))
    fake_llm.status(500, times=3)
    conversation = open_conversation(shop_a)
    with caplog.at_level(logging.INFO, logger="agent.services"):
        reply = answer(conversation, NEED)
    assert "SKU" in reply
    lines = [r for r in caplog.records if "fallback reply for conversation" in r.getMessage()]
    assert [r.levelno for r in lines] == [logging.WARNING]
    with tenant_scope(shop_a):
        assert Contact.objects.get(pk=conversation.contact_id).full_name == ""
