"""A quote the agent sends without a rep's approval (the tenant allows it), end to end on
Telegram: the customer's request through the webhook, the worker's turn through the fake
LLM, and both replies delivered by the turn, once each, the text first and the document
with its Accept button last."""

from __future__ import annotations

import pytest

from crm.models import LeadOpportunity, Message
from quotes.models import Quote
from tenants.scoping import tenant_scope
from tests.fakes.telegram_server import text_update
from tests.functional import test_telegram as tg
from tests.functional.test_telegram import CHAT, messages, run_worker
from tests.helpers_quotes import (
    QUOTE_REQUEST,
    assert_matches_catalog,
    draft_of,
    load_priced_catalog,
    script_quote_turn,
)

telegram, bot, post = tg.telegram, tg.bot, tg.post

pytestmark = pytest.mark.django_db(transaction=True)

REPLY = "Le envío ahora mismo el presupuesto con los precios del catálogo."


def test_a_quote_sent_without_approval_goes_out_after_the_reply_once(
    telegram, bot, tenant_a, post, fake_llm, catalog_index
):
    tenant_a.quotes_send_without_approval = True
    tenant_a.save()
    load_priced_catalog(tenant_a)
    script_quote_turn(fake_llm, reply=REPLY)

    post(bot, text_update(CHAT, QUOTE_REQUEST))
    run_worker()

    [request] = messages(tenant_a, Message.Role.USER)
    quote = draft_of(tenant_a, request.conversation_id)
    assert quote.status == Quote.Status.SENT
    assert_matches_catalog(tenant_a, quote)
    out = [c for c in telegram.calls() if c.method in ("sendMessage", "sendDocument")]
    assert [c.method for c in out] == ["sendMessage", "sendDocument"]
    assert out[0].body["text"] == REPLY
    [document] = telegram.documents(CHAT)
    assert document.files["document"].filename == f"{quote.reference}.pdf"
    assert document.files["document"].content.startswith(b"%PDF")
    reply, carrier = messages(tenant_a, Message.Role.ASSISTANT)
    assert (reply.content, carrier.metadata["quote"]["key"]) == (REPLY, quote.public_key)
    assert {reply.delivery_status, carrier.delivery_status} == {Message.Delivery.SENT}

    run_worker()  # nothing is sent twice
    assert len(telegram.documents()) == 1 and telegram.sent(CHAT) == [REPLY]
    with tenant_scope(tenant_a):
        opportunity = LeadOpportunity.objects.get(pk=quote.opportunity_id)
    assert opportunity.status == LeadOpportunity.Status.QUOTED
