"""A quote asked for when no LLM can answer: the fallback prices nothing, says a rep will
prepare it (in the tenant's wording and the customer's language), and flags the
conversation for a rep saying why. "Presupuesto" as a budget is still a budget."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from agent.fallback import QUOTE_REASON
from agent.services import respond
from crm.models import Conversation, LeadOpportunity, Message, Platform
from crm.services import conversation_open, message_add
from quotes.models import Quote
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests.factories import ContactFactory
from tests.helpers_quotes import QUOTE_REQUEST, load_priced_catalog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_key(settings, catalog_index):
    settings.LLM_API_KEY = ""
    settings.AGENT_FALLBACK_SETTLE_SECONDS = 0


@pytest.fixture
def shop(tenant_a) -> Tenant:
    load_priced_catalog(tenant_a)
    return tenant_a


def answer(tenant: Tenant, text: str, *, email: str = "") -> tuple[str, Conversation]:
    with tenant_scope(tenant):
        contact = ContactFactory(tenant=tenant, platform=Platform.WIDGET, full_name="", email=email)
        conversation = conversation_open(tenant=tenant, contact=contact, channel=Platform.WIDGET)
        message_add(conversation=conversation, role=Message.Role.USER, content=text)
    result = async_to_sync(respond)(conversation)
    assert result is not None and result.mode == "fallback"
    with tenant_scope(tenant):
        conversation.refresh_from_db()
    return result.reply, conversation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (QUOTE_REQUEST, "Un asesor comercial le preparará el presupuesto"),
        ("Quiero una cotización de 3 PH-LAB-3", "Un asesor comercial le preparará el presupuesto"),
        (
            "Could you send me a quote for 2 pH meters PH-LAB-3?",
            "A sales representative will prepare your quote",
        ),
    ],
    ids=["presupuesto", "cotizacion", "english"],
)
def test_a_quote_request_is_left_to_a_rep_and_flagged(shop, text, expected):
    reply, conversation = answer(shop, text, email="lab@aguas.example")

    assert expected in reply
    assert "1890" not in reply and "1.890" not in reply  # no price is offered as a quote
    assert conversation.needs_attention and conversation.attention_reason == QUOTE_REASON
    assert conversation.status == Conversation.Status.ACTIVE  # the bot keeps answering
    with tenant_scope(shop):
        assert not Quote.objects.exists()
        # The need is registered for the rep (the customer can be reached).
        assert LeadOpportunity.objects.filter(conversation=conversation).exists()
        [reply_message] = conversation.messages.filter(role=Message.Role.ASSISTANT)
    assert reply_message.metadata["fallback"]["kind"] == "quote_request"


def test_without_a_way_to_reach_them_the_customer_is_asked_for_one(shop):
    reply, _ = answer(shop, "¿Me hace un presupuesto de un TUR-5200?")

    assert "Un asesor comercial le preparará el presupuesto" in reply
    assert "Si me deja su nombre y su e-mail o teléfono" in reply


def test_the_tenants_own_wording_and_formality_are_used(shop):
    shop.formality = Tenant.Formality.INFORMAL
    shop.fallback_wording = {"es.quote_request": "Nuestro equipo te envía el presupuesto hoy."}
    shop.save()

    reply, _ = answer(shop, "Quiero una cotización de 3 PH-LAB-3", email="a@b.example")

    assert reply.startswith("Nuestro equipo te envía el presupuesto hoy.")


def test_a_budget_is_still_a_budget(shop):
    reply, conversation = answer(
        shop, "Necesito un medidor de pH de laboratorio, mi presupuesto es 2000 €", email="a@b.ex"
    )

    assert "quote" not in conversation.attention_reason
    assert "le preparará el presupuesto" not in reply
    assert "2000" in reply or "2.000" in reply
