"""Quotes on Telegram: the PDF sent with ``sendDocument`` (a multipart upload with its caption
and an inline "Accept" button), the press of that button coming back as a ``callback_query``
to the webhook, stored once as the customer's acceptance and answered from a worker.
Against the Bot API fake (tests/fakes/telegram_server.py) speaking the wire format."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django_tasks_db.models import DBTaskResult
from pypdf import PdfReader

from channels_app.inbox import inbound_events_resolve
from channels_app.models import InboundEvent
from channels_app.quotes import accept_payload
from channels_app.telegram.transport import transport
from channels_app.transport import QuoteDocument
from crm.audit import Actor
from crm.models import LeadOpportunity, Message
from quotes.models import Quote
from quotes.services import quote_approve
from tenants.scoping import tenant_scope
from tests import edges
from tests.factories import ConversationRouteFactory
from tests.fakes.telegram_server import button_press, text_update
from tests.functional import test_telegram as tg
from tests.functional.test_telegram import (
    CHAT,
    bot_id,
    events,
    make_bot,
    messages,
    run_worker,
    stored,
)
from tests.helpers_quotes import (
    QUOTE_REQUEST,
    assert_matches_catalog,
    draft_of,
    load_priced_catalog,
    script_quote_turn,
)

# The Telegram channel's fixtures: the Bot API fake, a bot of tenant A, a signed POST.
telegram, bot, post = tg.telegram, tg.bot, tg.post

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\r\n\r\n--not-a-boundary\x00\xff%%EOF\n"
KEY = "k3YqZ8wD0cTnV7pL"


def document(**changes) -> QuoteDocument:
    values = {
        "key": KEY,
        "reference": "Q-00007",
        "filename": "Q-00007.pdf",
        "pdf": PDF,
        "caption": "Presupuesto Q-00007: 1 línea(s), total 4.174,50 EUR (IVA incluido).",
        "accept_label": "Aceptar presupuesto",
        "accept_payload": accept_payload(KEY),
        "download_url": "https://ventas.example.com/q/abc/",
    }
    return QuoteDocument(**(values | changes))


@pytest.fixture
def route(bot, tenant_a):
    with tenant_scope(tenant_a):
        return ConversationRouteFactory(tenant=tenant_a, account=bot, address=str(CHAT))


def send(route, quote: QuoteDocument, start: int = 0):
    return async_to_sync(transport.send_quote)(route, quote, start=start)


# Sending ------------------------------------------------------------------------------------


def test_send_quote_uploads_the_pdf_with_its_caption_and_one_accept_button(telegram, bot, route):
    result = send(route, document())

    assert result.ok
    assert result.external_ids == [f"tg-out:{bot_id(bot)}:{CHAT}:1001"]
    [call] = telegram.documents(CHAT)
    assert call.token == bot.bot_token
    upload = call.files["document"]
    assert (upload.filename, upload.content_type, upload.content) == (
        "Q-00007.pdf",
        "application/pdf",
        PDF,
    )
    assert call.body["caption"] == document().caption
    keyboard = json.loads(call.body["reply_markup"])
    assert keyboard == {
        "inline_keyboard": [
            [{"text": "Aceptar presupuesto", "callback_data": f"quote-accept:{KEY}"}]
        ]
    }
    assert call.result["document"]["file_name"] == "Q-00007.pdf"
    assert telegram.calls("sendMessage") == []  # one piece: the document carries the button


def test_a_caption_longer_than_telegram_takes_is_cut_at_1024_characters(telegram, route):
    result = send(route, document(caption="x" * 1500))

    assert result.ok
    [call] = telegram.documents(CHAT)
    assert call.body["caption"] == "x" * 1024


def test_a_rate_limit_is_retried_later_and_the_document_goes_out_exactly_once(telegram, bot, route):
    telegram.rate_limit("sendDocument", retry_after=3)

    first = send(route, document())

    assert (first.ok, first.permanent, first.retry_after) == (False, False, 3.0)
    assert first.external_ids == []
    assert "Too Many Requests" in first.error
    assert telegram.documents() == []

    second = send(route, document())
    assert second.ok and len(telegram.documents()) == 1
    # a retry of a delivered quote (one piece sent) sends nothing more
    assert send(route, document(), start=1).ok
    assert len(telegram.calls("sendDocument")) == 2 and len(telegram.documents()) == 1


@pytest.mark.parametrize(
    ("status", "permanent"), [(403, True), (400, True), (500, False), (502, False)]
)
def test_errors_are_classified_like_text_replies(telegram, bot, route, status, permanent):
    telegram.fail("sendDocument", status)

    result = send(route, document())

    assert not result.ok and result.permanent is permanent
    assert bot.bot_token not in result.error


def test_a_user_who_blocked_the_bot_is_a_permanent_failure(telegram, route):
    telegram.block(CHAT)

    result = send(route, document())

    assert (result.ok, result.permanent) == (False, True)
    assert result.error == "Forbidden: bot was blocked by the user"


# The Accept button pressed ------------------------------------------------------------------


def _sent_document(telegram, route) -> dict:
    assert send(route, document()).ok
    return telegram.documents(CHAT)[-1].result


def test_a_press_of_accept_is_stored_once_as_the_customers_acceptance_and_answered_by_a_worker(
    telegram, bot, tenant_a, route, post
):
    press = button_press(_sent_document(telegram, route))

    response = post(bot, press)

    assert response.status_code == 200
    assert response.json() == {"ok": True, "duplicate": False}
    assert telegram.answered() == []  # nothing is called on the acknowledgement path
    [event] = events(tenant_a)
    assert event.external_id == f"tg-cb:{bot_id(bot)}:{press['update_id']}"
    assert event.metadata == {"quote_accept": KEY}
    tasks = sorted(DBTaskResult.objects.values_list("task_path", flat=True))
    assert tasks == [
        "channels_app.tasks.inbound_resolve_task",
        "channels_app.telegram.tasks.telegram_callback_answer_task",
    ]

    # Telegram delivers the same Update again: dropped, not answered twice
    again = post(bot, press)
    assert again.json() == {"ok": True, "duplicate": True}
    assert len(events(tenant_a)) == 1 and DBTaskResult.objects.count() == 2

    run_worker()

    [accept] = messages(tenant_a, Message.Role.USER)
    assert accept.metadata == {"quote_accept": KEY}
    assert accept.content == "✅ Aceptar presupuesto"  # the label of the button pressed
    assert accept.external_id == event.external_id
    assert accept.conversation.contact.platform_user_id == str(CHAT)
    assert telegram.answered() == [press["callback_query"]["id"]]


def test_a_press_through_the_lean_webhook_route_is_stored_and_its_answer_queued(
    telegram, bot, tenant_a, route
):
    """Production serves webhooks on the lean ASGI route (group commit), not Django's view."""
    press = button_press(_sent_document(telegram, route))
    headers = {edges.TELEGRAM_SECRET_HEADER: bot.webhook_secret}

    response = edges.post(bot.webhook_path(), json.dumps(press).encode(), headers, lean=True)

    assert response.status_code == 200 and response.json()["duplicate"] is False
    [event] = events(tenant_a)
    assert event.metadata == {"quote_accept": KEY}
    assert (
        DBTaskResult.objects.filter(
            task_path="channels_app.telegram.tasks.telegram_callback_answer_task"
        ).count()
        == 1
    )
    run_worker()
    assert telegram.answered() == [press["callback_query"]["id"]]


def test_a_press_on_an_old_message_without_its_keyboard_reads_in_the_tenants_language(
    telegram, bot, tenant_a, post
):
    old = {"message_id": 77, "date": 0, "chat": {"id": CHAT, "type": "private"}}
    press = button_press(old, data=accept_payload(KEY))

    post(bot, press)

    with tenant_scope(tenant_a):
        inbound_events_resolve(account_id=bot.pk, address=str(CHAT))
    [accept] = messages(tenant_a, Message.Role.USER)
    assert accept.metadata == {"quote_accept": KEY}
    assert accept.content.startswith("✅ ")
    assert accept.content != "✅ "


def test_the_press_belongs_to_the_tenant_of_the_bot_the_url_names(
    telegram, bot, tenant_a, tenant_b, route, post
):
    bot_b = make_bot(tenant_b, name="Ventas B")
    press = button_press(_sent_document(telegram, route))

    assert post(bot_b, press).json() == {"ok": True, "duplicate": False}

    assert events(tenant_a) == []
    [event] = events(tenant_b)
    assert (event.account_id, event.metadata) == (bot_b.pk, {"quote_accept": KEY})


@pytest.mark.parametrize(
    "data",
    ["buy", "quote-accept:", "quote-accept:" + "x" * 33, None],
    ids=["other", "no key", "key too long", "no data"],
)
def test_any_other_button_is_answered_and_ignored(telegram, bot, tenant_a, route, post, data):
    sent = _sent_document(telegram, route)
    press = button_press(sent, data=data or "x")
    if data is None:
        del press["callback_query"]["data"]

    response = post(bot, press)

    assert response.status_code == 200
    assert response.json() == {"ok": True, "ignored": "callback_query"}
    assert events(tenant_a) == [] and stored(Message) == 0
    run_worker()
    assert telegram.answered() == [press["callback_query"]["id"]]
    assert stored(Message) == stored(InboundEvent) == 0


def test_a_press_in_a_group_chat_is_answered_and_not_stored(telegram, bot, tenant_a, post):
    group = {"message_id": 5, "date": 1700000000, "chat": {"id": -4001, "type": "group"}}

    response = post(bot, button_press(group, data=accept_payload(KEY)))

    assert response.json()["ignored"] == "callback_query"
    run_worker()
    assert len(telegram.answered()) == 1
    assert stored(Message) == stored(InboundEvent) == 0


def test_a_malformed_callback_query_is_a_400_naming_the_field(telegram, bot, post):
    press = button_press(text_update(CHAT, "hola")["message"], data="buy")
    press["callback_query"]["id"] = 12345  # Telegram sends a string

    response = post(bot, press)

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "callback_query.id"
    assert stored(InboundEvent) == 0 and DBTaskResult.objects.count() == 0


# Done when (issue 16): from the conversation to an accepted quote ---------------------------


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def amounts(value: Decimal) -> set[str]:
    """How an amount may be written in the PDF: 7.345,10 (Spanish), 7,345.10, 7345,10…"""
    english = f"{value:,.2f}"
    spanish = english.translate(str.maketrans(",.", ".,"))
    return {
        english,
        spanish,
        spanish.replace(".", " "),
        f"{value:.2f}",
        f"{value:.2f}".replace(".", ","),
    }


def assert_pdf_shows(pdf: bytes, quote: Quote) -> None:
    """The PDF the customer got is the quote: every SKU with its quantity (its line total is
    quantity x catalog price) and the total."""
    text = re.sub(r"[ \t]+", " ", pdf_text(pdf))
    assert pdf.startswith(b"%PDF-")
    assert quote.reference in text
    for line in quote.lines.all():
        assert line.sku in text
        assert any(a in text for a in amounts(line.line_total)), (line.sku, line.quantity, text)
    assert any(a in text for a in amounts(quote.total)), text


def quote_drafted(tenant, conversation_id: int) -> Quote:
    """The turn's draft: lines and prices as the catalog has them."""
    quote = draft_of(tenant, conversation_id)
    assert quote.status == Quote.Status.DRAFT
    assert_matches_catalog(tenant, quote)
    return quote


def rep_approves_and_sends(tenant, quote: Quote, rep) -> None:
    """What the desk's Approve and Send buttons do (the reply is delivered by the worker)."""
    from desk.services import quote_deliver  # imported late: desk's admin loads with the site

    with tenant_scope(tenant):
        quote_approve(quote=quote, actor=Actor.rep(rep))
        quote_deliver(quote=quote, user=rep)


def assert_accepted(tenant, quote: Quote) -> None:
    with tenant_scope(tenant):
        quote.refresh_from_db()
        opportunity = LeadOpportunity.objects.get(pk=quote.opportunity_id)
    assert quote.status == Quote.Status.ACCEPTED
    assert opportunity.status == LeadOpportunity.Status.WON


def test_a_conversation_ends_in_a_quote_sent_once_on_telegram_and_accepted_with_its_button(
    telegram, bot, tenant_a, owner, post, fake_llm, catalog_index
):
    load_priced_catalog(tenant_a)
    script_quote_turn(fake_llm)

    post(bot, text_update(CHAT, QUOTE_REQUEST))
    run_worker()

    [request] = messages(tenant_a, Message.Role.USER)
    quote = quote_drafted(tenant_a, request.conversation_id)
    assert telegram.documents() == []  # a draft waits for a rep

    telegram.rate_limit("sendDocument", retry_after=1)  # the first attempt meets a 429
    rep_approves_and_sends(tenant_a, quote, owner)
    run_worker()

    assert len(telegram.calls("sendDocument")) == 2
    [sent] = telegram.documents(CHAT)  # the PDF arrived exactly once
    with tenant_scope(tenant_a):
        quote.refresh_from_db()
        assert quote.status == Quote.Status.SENT
        assert_pdf_shows(sent.files["document"].content, quote)
        carrier = Message.objects.get(metadata__quote__key=quote.public_key)
    assert sent.files["document"].filename == f"{quote.reference}.pdf"
    assert carrier.delivery_status == Message.Delivery.SENT
    assert carrier.external_id == f"tg-out:{bot_id(bot)}:{CHAT}:{sent.result['message_id']}"
    texts_before = len(telegram.sent(CHAT))

    press = button_press(sent.result)  # the customer presses "Aceptar presupuesto"
    post(bot, press)
    run_worker()

    assert_accepted(tenant_a, quote)
    assert telegram.answered() == [press["callback_query"]["id"]]
    assert len(telegram.sent(CHAT)) == texts_before + 1  # the confirmation
    assert len(telegram.documents()) == 1
