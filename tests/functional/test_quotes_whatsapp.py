"""Quotes on WhatsApp: the PDF uploaded to ``/media`` and sent as a document message, then an
interactive reply-button message whose button id is the accept payload; the press of that
button coming back as an ``interactive`` ``button_reply`` to the signed webhook, stored once
as the customer's acceptance. Against the Graph API fake (tests/fakes/whatsapp_server.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from asgiref.sync import async_to_sync

from channels_app.models import InboundEvent
from channels_app.quotes import accept_payload
from channels_app.transport import QuoteDocument
from channels_app.whatsapp.transport import transport
from crm.models import Message
from quotes.models import Quote
from tenants.scoping import tenant_scope
from tests.factories import ConversationRouteFactory
from tests.fakes import whatsapp_server as wa
from tests.functional import test_whatsapp as tw
from tests.functional.test_quotes_telegram import (
    assert_accepted,
    assert_pdf_shows,
    quote_drafted,
    rep_approves_and_sends,
)
from tests.functional.test_quotes_telegram import (
    document as telegram_document,
)
from tests.functional.test_whatsapp import WA_ID, messages
from tests.helpers_quotes import QUOTE_REQUEST, load_priced_catalog, script_quote_turn

pytestmark = pytest.mark.django_db(transaction=True)

# The WhatsApp channel's fixtures: the Graph API fake, an account of each tenant, a signed POST.
whatsapp, account, account_b, deliver = tw.whatsapp, tw.account, tw.account_b, tw.deliver

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\r\n\r\n--x\x00\xff%%EOF\n"
KEY = "Wq81rTz0pLm3VbN6"
CAPTION = "Presupuesto Q-00009: 2 línea(s), total 7.345,10 EUR (IVA incluido)."


def document(**changes) -> QuoteDocument:
    """Telegram's test quote, as quote Q-00009 (KEY) with its own PDF bytes and caption."""
    values = {"key": KEY, "reference": "Q-00009", "filename": "Q-00009.pdf", "pdf": PDF}
    values |= {"caption": CAPTION, "accept_payload": accept_payload(KEY)}
    return replace(telegram_document(), **(values | changes))


@pytest.fixture
def route(account):
    with tenant_scope(account.tenant):
        return ConversationRouteFactory(tenant=account.tenant, account=account, address=WA_ID)


def send(route, quote: QuoteDocument | None = None, start: int = 0):
    return async_to_sync(transport.send_quote)(route, quote or document(), start=start)


# Sending ------------------------------------------------------------------------------------


def test_the_pdf_is_uploaded_then_sent_as_a_document_then_the_accept_button(
    whatsapp, account, route
):
    result = send(route)

    assert result.ok
    [upload] = whatsapp.uploads
    assert upload.phone_number_id == account.phone_number_id
    assert upload.fields == {"messaging_product": "whatsapp", "type": "application/pdf"}
    assert upload.file is not None
    assert (upload.file.filename, upload.file.content_type, upload.file.content) == (
        "Q-00009.pdf",
        "application/pdf",
        PDF,
    )
    [doc, buttons] = whatsapp.sends
    assert doc.body["to"] == WA_ID and doc.kind == "document"
    assert doc.body["document"] == {
        "id": upload.media_id,
        "filename": "Q-00009.pdf",
        "caption": CAPTION,
    }
    assert whatsapp.document_bytes(doc) == PDF
    assert doc.headers["Authorization"] == f"Bearer {account.access_token}"
    assert buttons.kind == "interactive"
    assert buttons.body["interactive"] == {
        "type": "button",
        "body": {"text": CAPTION},
        "action": {
            "buttons": [
                {
                    "type": "reply",
                    "reply": {"id": f"quote-accept:{KEY}", "title": "Aceptar presupuesto"},
                }
            ]
        },
    }
    assert result.external_ids == [f"wa:{wamid}" for wamid in whatsapp.sent_ids()]
    assert len(result.external_ids) == 2


def test_a_label_longer_than_a_reply_button_takes_is_cut_at_20_characters(whatsapp, route):
    result = send(route, document(accept_label="Aceptar la cotización ahora"))

    assert result.ok
    [buttons] = whatsapp.sent_of("interactive")
    assert buttons.body["interactive"]["action"]["buttons"][0]["reply"]["title"] == (
        "Aceptar la cotizació"
    )


def test_a_rate_limited_document_is_retried_later_and_sent_exactly_once(whatsapp, route):
    whatsapp.status(429, retry_after=2)

    first = send(route)

    assert (first.ok, first.permanent, first.retry_after, first.external_ids) == (
        False,
        False,
        2.0,
        [],
    )
    assert whatsapp.sent_of("document") == [] and whatsapp.sent_of("interactive") == []

    second = send(route, start=len(first.external_ids))
    assert second.ok
    assert len(whatsapp.sent_of("document")) == 1 and len(whatsapp.sent_of("interactive")) == 1


def test_a_failed_button_is_retried_from_the_button_and_the_document_is_never_sent_twice(
    whatsapp, route
):
    whatsapp.status(200).status(503)  # the document goes out, the button meets a 503

    first = send(route)

    assert (first.ok, first.permanent) == (False, False)
    [doc] = whatsapp.sent_of("document")
    assert len(first.external_ids) == 1  # the document: the inbox records one piece sent
    assert whatsapp.sent_of("interactive") == []

    second = send(route, start=len(first.external_ids))

    assert second.ok and len(second.external_ids) == 1
    assert whatsapp.sent_of("document") == [doc]
    assert len(whatsapp.uploads) == 1  # nor uploaded twice
    assert len(whatsapp.sent_of("interactive")) == 1


def test_a_failed_upload_sends_nothing_and_is_retried(whatsapp, route):
    whatsapp.upload_error(131000)

    first = send(route)

    assert (first.ok, first.permanent, first.external_ids) == (False, False, [])
    assert first.error.startswith("131000: ")
    assert whatsapp.sends == []
    assert send(route).ok
    assert len(whatsapp.sent_of("document")) == 1


def test_outside_the_24_hour_window_the_quote_fails_for_good(whatsapp, account, route):
    whatsapp.error(131047)

    result = send(route)

    assert (result.ok, result.permanent) == (False, True)
    assert result.error.startswith("131047: ")
    assert account.access_token not in result.error


# The Accept button pressed ------------------------------------------------------------------


def press(account, *, reply_id: str = f"quote-accept:{KEY}", title: str = "Aceptar presupuesto"):
    return wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(WA_ID)],
        messages=[wa.button_reply(WA_ID, reply_id, title, context=wa.wamid())],
    )


def test_a_press_of_accept_is_stored_once_as_the_customers_acceptance(whatsapp, account, deliver):
    payload = press(account)
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

    response = deliver(account, payload, work=False)

    assert response.json()["stored"] == 1
    with tenant_scope(account.tenant):
        [event] = InboundEvent.objects.all()
    assert (event.external_id, event.metadata, event.text) == (
        f"wa:{wamid}",
        {"quote_accept": KEY},
        "Aceptar presupuesto",
    )
    # Meta delivers the same notification again: dropped
    again = deliver(account, payload)
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)

    [accept] = messages(account.tenant, role=Message.Role.USER)
    assert (accept.content, accept.metadata) == ("Aceptar presupuesto", {"quote_accept": KEY})
    assert accept.external_id == f"wa:{wamid}"


def test_the_press_belongs_to_the_tenant_of_the_account_the_url_names(
    whatsapp, account, account_b, deliver
):
    deliver(account_b, press(account_b), work=False)

    with tenant_scope(account.tenant):
        assert not InboundEvent.objects.exists()
    with tenant_scope(account_b.tenant):
        [event] = InboundEvent.objects.all()
    assert (event.account_id, event.metadata) == (account_b.pk, {"quote_accept": KEY})


@pytest.mark.parametrize("reply_id", ["b1", "quote-accept:", "quote-accept:" + "x" * 33])
def test_any_other_reply_button_is_stored_as_its_title_only(whatsapp, account, deliver, reply_id):
    deliver(account, press(account, reply_id=reply_id, title="Sí"), work=False)

    with tenant_scope(account.tenant):
        [event] = InboundEvent.objects.all()
    assert (event.text, event.metadata) == ("Sí", {})


def test_a_template_quick_reply_with_an_accept_payload_accepts_too(whatsapp, account, deliver):
    button = {"text": "Aceptar", "payload": f"quote-accept:{KEY}"}
    payload = wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(WA_ID)],
        messages=[wa.message(WA_ID, "button", button=button)],
    )

    deliver(account, payload, work=False)

    with tenant_scope(account.tenant):
        [event] = InboundEvent.objects.all()
    assert (event.text, event.metadata) == ("Aceptar", {"quote_accept": KEY})


# Done when (issue 16): from the conversation to an accepted quote ---------------------------


def test_a_conversation_ends_in_a_quote_sent_once_on_whatsapp_and_accepted_with_its_button(
    whatsapp, account, owner, deliver, fake_llm
):
    tenant = account.tenant
    load_priced_catalog(tenant)
    script_quote_turn(fake_llm)
    ask = wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(WA_ID)],
        messages=[wa.text(WA_ID, QUOTE_REQUEST)],
    )

    deliver(account, ask)

    [request] = messages(tenant, role=Message.Role.USER)
    quote = quote_drafted(tenant, request.conversation_id)
    assert whatsapp.uploads == []  # a draft waits for a rep

    whatsapp.status(200).status(503)  # the document goes out, the button meets a 503 first
    rep_approves_and_sends(tenant, quote, owner)
    tw.run_worker()

    [doc] = whatsapp.sent_of("document")  # the PDF arrived exactly once
    [buttons] = whatsapp.sent_of("interactive")
    assert len(whatsapp.uploads) == 1
    assert doc.body["document"]["filename"] == f"{quote.reference}.pdf"
    with tenant_scope(tenant):
        quote.refresh_from_db()
        assert quote.status == Quote.Status.SENT
        assert_pdf_shows(whatsapp.document_bytes(doc), quote)
        carrier = Message.objects.get(metadata__quote__key=quote.public_key)
    assert carrier.delivery_status == Message.Delivery.SENT
    assert carrier.pieces_sent == 2
    reply = buttons.body["interactive"]["action"]["buttons"][0]["reply"]
    assert reply["id"] == f"quote-accept:{quote.public_key}"
    texts_before = len(whatsapp.sent_of("text"))

    # the customer presses the button
    deliver(account, press_of(account, reply))

    assert_accepted(tenant, quote)
    assert len(whatsapp.sent_of("text")) == texts_before + 1  # the confirmation
    assert len(whatsapp.sent_of("document")) == 1


def press_of(account, reply: dict) -> dict:
    return press(account, reply_id=reply["id"], title=reply["title"])
