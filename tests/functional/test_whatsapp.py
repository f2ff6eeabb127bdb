"""The WhatsApp Cloud API channel end to end: signed webhooks through Django's ASGI
handler, the background answer run by a django-tasks-db worker, replies sent to a
Graph API server on 127.0.0.1 (tests/fakes/whatsapp_server.py), delivery statuses."""

from __future__ import annotations

import io
import json

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.test import AsyncClient
from django_tasks_db.models import DBTaskResult

from channels_app.models import ChannelAccount, InboundEvent
from crm.models import Contact, Conversation, Message
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import ChannelAccountFactory
from tests.fakes import whatsapp_server as wa
from tests.fakes.whatsapp_server import FakeWhatsApp

# The background work runs in a real worker (manage.py worker), which closes its database
# connection when done: the test's data must be committed, not in a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)

WA_ID = "573001234567"  # Colombia
OTHER_WA_ID = "525512345678"  # Mexico
US_WA_ID = "14155550123"
BSUID = "US.13491208655302741918"


@pytest.fixture
def whatsapp(settings):
    """The Graph API the transport talks to; retries fast."""
    server = FakeWhatsApp().start()
    settings.WHATSAPP_API_BASE = server.base_url
    settings.CHANNEL_SEND_BACKOFF = 0.01
    settings.CHANNEL_SEND_RETRIES = 3
    settings.CHANNEL_SEND_MAX_WAIT = 2.0
    settings.CHANNEL_SEND_TIMEOUT = 5.0
    yield server
    server.stop()


def _account(tenant, whatsapp, suffix: str, number: str) -> ChannelAccount:
    with tenant_scope(tenant):
        account = ChannelAccountFactory(
            tenant=tenant,
            kind=ChannelAccount.Kind.WHATSAPP,
            name=f"WhatsApp {suffix}",
            bot_token="",
            phone_number_id=number,
            access_token=f"EAAtest-token-{suffix}",
            app_secret=f"app-secret-{suffix}",
            verify_token=f"verify-{suffix}",
        )
    whatsapp.number(account.phone_number_id, account.access_token)
    return account


@pytest.fixture
def account(tenant_a, whatsapp, catalog_index) -> ChannelAccount:
    return _account(tenant_a, whatsapp, "a", "106540352242922")


@pytest.fixture
def account_b(tenant_b, whatsapp, catalog_index) -> ChannelAccount:
    return _account(tenant_b, whatsapp, "b", "106540352242933")


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """POST a notification the way Meta does (signed raw body), then run the worker."""

    def go(
        account: ChannelAccount,
        payload: dict | bytes,
        *,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        work: bool = True,
    ):
        raw, signed_headers = wa.signed(payload, account.app_secret if secret is None else secret)
        with django_capture_on_commit_callbacks(execute=True):
            response = async_to_sync(AsyncClient().post)(
                account.webhook_path(),
                data=raw,
                content_type="application/json",
                headers=signed_headers if headers is None else headers,
            )
        if work:
            run_worker()
        return response

    return go


def run_worker() -> None:
    """What a production worker process does: run every queued task, then stop."""
    call_command("worker", "--batch", stdout=io.StringIO())


def get(path: str, params: dict[str, str]):
    return async_to_sync(AsyncClient().get)(path, params)


def messages(tenant, **filters) -> list[Message]:
    with tenant_scope(tenant):
        return list(Message.objects.filter(**filters).order_by("created_at", "pk"))


def replies(tenant) -> list[Message]:
    return messages(tenant, role=Message.Role.ASSISTANT)


def conversation_of(message: Message) -> Conversation:
    with tenant_scope(message.tenant):
        return Conversation.objects.get(pk=message.conversation_id)


def all_rows() -> tuple[int, int, int]:
    with scopes_disabled():
        return Message.objects.count(), Contact.objects.count(), Conversation.objects.count()


def text_notification(account: ChannelAccount, body: str = "Hola, necesito un turbidímetro", **kw):
    sender = kw.pop("sender", WA_ID)
    return wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(sender, kw.pop("name", "Ana Gómez"))],
        messages=[wa.text(sender, body, **kw)],
    )


def answered(deliver, account, fake_llm=None, reply: str = "Le recomiendo el TU-1.") -> Message:
    """A customer wrote and the bot's reply went out: the reply."""
    if fake_llm is not None:
        fake_llm.text(reply)
    assert deliver(account, text_notification(account)).status_code == 200
    (message,) = replies(account.tenant)
    assert message.delivery_status == Message.Delivery.SENT
    return message


# Verification (GET) -------------------------------------------------------------------------


def test_verification_echoes_the_challenge(account):
    response = get(
        account.webhook_path(),
        {"hub.mode": "subscribe", "hub.verify_token": "verify-a", "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"1158201444"


@pytest.mark.parametrize(
    ("mode", "token"),
    [("subscribe", "wrong"), ("subscribe", ""), ("unsubscribe", "verify-a"), ("", "verify-a")],
)
def test_verification_refuses_a_wrong_token_or_mode(account, mode, token):
    response = get(
        account.webhook_path(),
        {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": "42"},
    )
    assert response.status_code == 403
    assert b"42" not in response.content


def test_unknown_key_is_404(account):
    params = {"hub.mode": "subscribe", "hub.verify_token": "verify-a", "hub.challenge": "42"}
    assert get("/webhooks/whatsapp/no-such-key/", params).status_code == 404
    raw, headers = wa.signed(text_notification(account), account.app_secret)
    response = async_to_sync(AsyncClient().post)(
        "/webhooks/whatsapp/no-such-key/",
        data=raw,
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 404
    assert all_rows() == (0, 0, 0)


# A text message, answered ---------------------------------------------------------------------


def test_a_signed_text_message_is_stored_then_answered_through_the_cloud_api(
    account, whatsapp, deliver
):
    payload = text_notification(account, id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFE")

    response = deliver(account, payload, work=False)

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "stored": 1,
        "duplicates": 0,
        "statuses": 0,
        "ignored": 0,
    }
    assert whatsapp.requests == []  # nothing is answered in the request
    assert messages(account.tenant) == []  # the worker resolves the stored event

    run_worker()

    (inbound,) = messages(account.tenant, role=Message.Role.USER)
    assert inbound.external_id == "wa:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFE"
    assert inbound.content == "Hola, necesito un turbidímetro"

    (send,) = whatsapp.sends
    (reply,) = replies(account.tenant)
    assert send.phone_number_id == account.phone_number_id
    assert send.headers["Authorization"] == "Bearer EAAtest-token-a"
    assert send.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "text",
        "text": {"body": reply.content, "preview_url": False},
    }
    assert reply.delivery_status == Message.Delivery.SENT
    assert reply.external_id == f"wa:{whatsapp.sent_ids()[0]}"
    # the customer's message was marked read, with the typing indicator, before the reply
    (read,) = whatsapp.reads
    assert read.body == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFE",
        "typing_indicator": {"type": "text"},
    }
    assert read.at < send.at
    with tenant_scope(account.tenant):
        contact = Contact.objects.get()
    assert (contact.platform, contact.platform_user_id) == ("whatsapp", WA_ID)
    assert contact.full_name == "Ana Gómez"


def test_a_long_reply_goes_out_in_pieces_of_4096(account, whatsapp, deliver, fake_llm):
    fake_llm.text(("El turbidímetro TU-1 mide de 0 a 1000 NTU. " * 150).strip())

    deliver(account, text_notification(account))

    sends = whatsapp.sends
    assert len(sends) == 2
    assert all(len(s.text) <= 4096 for s in sends)
    (reply,) = replies(account.tenant)
    assert reply.external_id == f"wa:{whatsapp.sent_ids()[0]}"


# Authenticity ------------------------------------------------------------------------------


@pytest.mark.parametrize("forgery", ["missing", "wrong secret", "tampered body", "not sha256"])
def test_a_forged_signature_is_refused_and_nothing_is_stored_or_sent(
    account, whatsapp, deliver, forgery
):
    payload = text_notification(account)
    raw, good = wa.signed(payload, account.app_secret)
    headers = {
        "missing": {},
        "wrong secret": wa.signed(payload, "app-secret-b")[1],
        "tampered body": good,
        "not sha256": {"X-Hub-Signature-256": good["X-Hub-Signature-256"][7:]},
    }[forgery]
    body = raw.replace(b"turbid", b"TURBID") if forgery == "tampered body" else raw

    response = deliver(account, body, headers=headers)

    assert response.status_code == 403
    assert "error" in response.json()
    assert all_rows() == (0, 0, 0)
    assert whatsapp.requests == []


def test_an_account_without_app_secret_accepts_nothing(account, deliver):
    with tenant_scope(account.tenant):
        ChannelAccount.objects.filter(pk=account.pk).update(app_secret="")
    raw, headers = wa.signed(text_notification(account), "")
    assert deliver(account, raw, headers=headers).status_code == 403
    assert all_rows() == (0, 0, 0)


# Several messages, redeliveries ---------------------------------------------------------------


def test_one_post_with_several_messages_stores_and_answers_each(account, whatsapp, deliver):
    payload = wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(WA_ID, "Ana Gómez"), wa.contact(OTHER_WA_ID, "Luis Pérez")],
        messages=[
            wa.text(WA_ID, "Hola, busco un medidor de pH"),
            wa.text(OTHER_WA_ID, "Buenas, necesito una sonda de conductividad"),
        ],
    )
    # and a second entry in the same POST
    second = text_notification(account, "¿Tienen turbidímetros?", sender="573009998877", name="Eva")
    payload["entry"].append(second["entry"][0])

    response = deliver(account, payload)

    assert response.json()["stored"] == 3
    with tenant_scope(account.tenant):
        names = {c.platform_user_id: c.full_name for c in Contact.objects.all()}
        assert Conversation.objects.count() == 3
    assert names == {WA_ID: "Ana Gómez", OTHER_WA_ID: "Luis Pérez", "573009998877": "Eva"}
    assert sorted(s.body["to"] for s in whatsapp.sends) == sorted(names)
    assert all(r.delivery_status == Message.Delivery.SENT for r in replies(account.tenant))
    assert len(whatsapp.reads) == 3


def test_a_post_with_many_messages_is_one_insert_and_one_task_per_chat(
    account, whatsapp, deliver, django_assert_max_num_queries
):
    senders = [WA_ID, OTHER_WA_ID, "573009998877"]
    payload = wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(sender, f"Cliente {n}") for n, sender in enumerate(senders)],
        messages=[wa.text(senders[n % 3], f"mensaje {n}") for n in range(300)],
    )

    # the account, the known-ids check, the events' bulk INSERT (one statement on MariaDB;
    # SQLite's 999-parameter limit splits it in five), one task row per chat: not 300 of each
    with django_assert_max_num_queries(16):
        response = deliver(account, payload, work=False)

    assert response.json()["stored"] == 300
    with tenant_scope(account.tenant):
        assert InboundEvent.objects.count() == 300
    tasks = DBTaskResult.objects.filter(task_path="channels_app.tasks.inbound_resolve_task")
    assert sorted(t.args_kwargs["args"][2] for t in tasks) == sorted(senders)  # one per chat

    run_worker()

    for sender in senders:
        with tenant_scope(account.tenant):
            texts = list(
                Message.objects.filter(
                    role=Message.Role.USER, conversation__contact__platform_user_id=sender
                ).values_list("content", flat=True)
            )
        assert texts == [f"mensaje {n}" for n in range(300) if senders[n % 3] == sender]
    assert sorted(s.body["to"] for s in whatsapp.sends) == sorted(senders)  # one reply each


def test_a_redelivered_message_is_answered_once(account, whatsapp, deliver):
    payload = text_notification(account, id="wamid.redelivered")

    first = deliver(account, payload)
    again = deliver(account, payload)

    assert first.json()["stored"] == 1
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1 and again.json()["stored"] == 0
    assert len(messages(account.tenant, role=Message.Role.USER)) == 1
    assert len(replies(account.tenant)) == 1
    assert len(whatsapp.sends) == 1


# Delivery statuses ---------------------------------------------------------------------------


def test_statuses_move_our_reply_forward_and_never_back(account, whatsapp, deliver):
    reply = answered(deliver, account)
    wamid = whatsapp.sent_ids()[0]

    def report(*states: str):
        payload = wa.notification(
            account.phone_number_id, statuses=[wa.status(wamid, s, WA_ID) for s in states]
        )
        response = deliver(account, payload, work=False)
        assert response.status_code == 200
        reply.refresh_from_db()
        return response.json()

    assert report("sent")["ignored"] == 1  # already sent: nothing to change
    assert reply.delivery_status == Message.Delivery.SENT
    report("delivered")
    assert reply.delivery_status == Message.Delivery.DELIVERED
    report("read")
    assert reply.delivery_status == Message.Delivery.READ
    report("delivered", "sent")  # late arrivals
    assert reply.delivery_status == Message.Delivery.READ
    report("failed")
    assert reply.delivery_status == Message.Delivery.READ
    assert reply.delivery_error == ""


def test_a_failed_status_stores_the_error_and_flags_the_conversation(
    account, whatsapp, deliver, fake_llm
):
    reply = answered(deliver, account, fake_llm)
    assert not conversation_of(reply).needs_attention
    payload = wa.notification(
        account.phone_number_id,
        statuses=[wa.status(whatsapp.sent_ids()[0], "failed", WA_ID, error=131047)],
    )

    assert deliver(account, payload, work=False).json()["statuses"] == 1

    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.FAILED
    assert reply.delivery_error.startswith("131047: Re-engagement message")
    assert "24 hours" in reply.delivery_error
    conversation = conversation_of(reply)
    assert conversation.needs_attention
    assert "131047" in conversation.attention_reason


def test_a_status_for_an_unknown_message_is_ignored(account, deliver):
    payload = wa.notification(
        account.phone_number_id,
        statuses=[wa.status("wamid.not-ours", "delivered"), wa.status("wamid.x", "deleted")],
    )
    response = deliver(account, payload, work=False)
    assert response.status_code == 200
    assert response.json()["ignored"] == 2
    assert all_rows() == (0, 0, 0)


# Sending: retries and permanent errors ----------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(lambda f: f.status(429, retry_after=0), id="429 with Retry-After"),
        pytest.param(lambda f: f.status(500), id="500"),
        pytest.param(lambda f: f.status(503, times=2), id="503 twice"),
        pytest.param(lambda f: f.error(131000), id="131000 something went wrong"),
        pytest.param(lambda f: f.error(130429), id="130429 throughput"),
        pytest.param(lambda f: f.error(131056), id="131056 pair rate limit"),
    ],
)
def test_transient_send_errors_are_retried_until_the_reply_goes_out(
    account, whatsapp, deliver, script
):
    script(whatsapp)
    failures = len(whatsapp.script)

    deliver(account, text_notification(account))

    assert len(whatsapp.sends) == failures + 1
    (reply,) = replies(account.tenant)
    assert reply.delivery_status == Message.Delivery.SENT
    assert reply.external_id == f"wa:{whatsapp.sent_ids()[0]}"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (131047, "131047: Re-engagement message"),
        (131026, "131026: Message undeliverable"),
        (131051, "131051: Unsupported message type"),
        (190, "190: Invalid OAuth access token"),
    ],
)
def test_permanent_send_errors_fail_at_once_and_flag_the_conversation(
    account, whatsapp, deliver, fake_llm, code, reason
):
    fake_llm.text("Le recomiendo el TU-1.")
    whatsapp.error(code)

    deliver(account, text_notification(account))

    assert len(whatsapp.sends) == 1  # no retry
    (reply,) = replies(account.tenant)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert reply.delivery_error.startswith(reason)
    conversation = conversation_of(reply)
    assert conversation.needs_attention
    assert str(code) in conversation.attention_reason


def test_a_revoked_access_token_fails_without_leaking_it(account, whatsapp, deliver, caplog):
    whatsapp.number(account.phone_number_id, "EAAthe-new-token")

    deliver(account, text_notification(account))

    (reply,) = replies(account.tenant)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert reply.delivery_error.startswith("190: ")
    assert len(whatsapp.sends) == 1
    assert "EAAtest-token-a" not in caplog.text
    assert "EAAtest-token-a" not in reply.delivery_error


# What the bot reads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content", "read_as"),
    [
        (
            "interactive",
            {"interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Sí"}}},
            "Sí",
        ),
        (
            "interactive",
            {
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "r2", "title": "Turbidímetros", "description": "0-1000"},
                }
            },
            "Turbidímetros - 0-1000",
        ),
        ("button", {"button": {"text": "Quiero una cotización", "payload": "QUOTE"}}, None),
    ],
)
def test_interactive_replies_are_read_as_text(
    account, whatsapp, deliver, fake_llm, kind, content, read_as
):
    fake_llm.text("Perfecto, le preparo la cotización.")
    payload = wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(WA_ID)],
        messages=[wa.message(WA_ID, kind, **content)],
    )

    deliver(account, payload)

    (inbound,) = messages(account.tenant, role=Message.Role.USER)
    assert inbound.content == (read_as or "Quiero una cotización")
    assert inbound.content in json.dumps(fake_llm.requests[0].body, ensure_ascii=False)
    (send,) = whatsapp.sends
    assert send.text == "Perfecto, le preparo la cotización."


@pytest.mark.parametrize(
    ("kind", "content", "sender", "polite"),
    [
        ("image", {"image": {"id": "1", "mime_type": "image/jpeg"}}, WA_ID, "solo puedo leer"),
        ("audio", {"audio": {"id": "2", "voice": True}}, WA_ID, "solo puedo leer"),
        ("sticker", {"sticker": {"id": "3", "animated": False}}, WA_ID, "solo puedo leer"),
        ("location", {"location": {"latitude": 4.6, "longitude": -74.1}}, WA_ID, "solo puedo"),
        ("reaction", {"reaction": {"message_id": "wamid.x", "emoji": "👍"}}, WA_ID, "solo puedo"),
        ("unsupported", {"errors": [{"code": 131051}]}, WA_ID, "solo puedo leer"),
        ("document", {"document": {"id": "4", "filename": "a.pdf"}}, US_WA_ID, "only read text"),
        ("video", {"video": {"id": "5"}}, "5511912345678", "só consigo ler"),
    ],
)
def test_what_the_bot_cannot_read_gets_a_polite_reply(
    account, whatsapp, deliver, kind, content, sender, polite
):
    payload = wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(sender)],
        messages=[wa.message(sender, kind, **content)],
    )

    assert deliver(account, payload).json()["stored"] == 1

    (inbound,) = messages(account.tenant, role=Message.Role.USER)
    assert inbound.content == f"[{kind}]"
    (reply,) = replies(account.tenant)
    assert polite in reply.content
    (send,) = whatsapp.sends
    assert send.body["to"] == sender and send.text == reply.content
    assert reply.delivery_status == Message.Delivery.SENT


def test_the_polite_reply_follows_the_language_the_customer_wrote_in(account, whatsapp, deliver):
    deliver(account, text_notification(account, "Hello, I need a water meter, thanks"))
    payload = wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(WA_ID)],
        messages=[wa.message(WA_ID, "image", image={"id": "1"})],
    )

    deliver(account, payload)

    assert "only read text" in replies(account.tenant)[-1].content
    assert whatsapp.sends[-1].text == replies(account.tenant)[-1].content


def test_an_image_caption_is_read_as_text(account, whatsapp, deliver, fake_llm):
    fake_llm.text("Ese es el TU-1: mide hasta 1000 NTU.")
    payload = wa.notification(
        account.phone_number_id,
        contacts=[wa.contact(WA_ID)],
        messages=[wa.message(WA_ID, "image", image={"id": "9", "caption": "¿Tienen este equipo?"})],
    )

    deliver(account, payload)

    (inbound,) = messages(account.tenant, role=Message.Role.USER)
    assert inbound.content == "[image] ¿Tienen este equipo?"
    assert len(fake_llm.requests) == 1
    (reply,) = replies(account.tenant)
    assert reply.content == "Ese es el TU-1: mide hasta 1000 NTU."
    assert [s.text for s in whatsapp.sends] == [reply.content]


def test_a_system_message_is_ignored(account, whatsapp, deliver):
    change = {"body": "User A changed from 1 to 2", "wa_id": "2", "type": "user_changed_number"}
    payload = wa.notification(
        account.phone_number_id, messages=[wa.message(WA_ID, "system", system=change)]
    )
    response = deliver(account, payload)
    assert response.status_code == 200 and response.json()["ignored"] == 1
    assert all_rows() == (0, 0, 0)
    assert whatsapp.requests == []


def test_a_customer_known_only_by_bsuid_is_answered_by_bsuid(account, whatsapp, deliver):
    payload = wa.notification(
        account.phone_number_id,
        contacts=[{"profile": {"name": "Sam", "username": "@sam"}, "user_id": BSUID}],
        messages=[wa.message(None, "text", user_id=BSUID, text={"body": "Hi, I need a pH meter"})],
    )

    deliver(account, payload)

    with tenant_scope(account.tenant):
        contact = Contact.objects.get()
    assert (contact.platform_user_id, contact.full_name) == (BSUID, "Sam")
    (send,) = whatsapp.sends
    assert send.body["recipient"] == BSUID and "to" not in send.body
    assert replies(account.tenant)[0].delivery_status == Message.Delivery.SENT


def test_messages_for_another_number_of_the_business_account_are_ignored(
    account, whatsapp, deliver
):
    payload = text_notification(account)
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    response = deliver(account, payload)
    assert response.status_code == 200 and response.json()["ignored"] == 1
    assert all_rows() == (0, 0, 0)


# Bad bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(b"{not json", 400, id="malformed JSON"),
        pytest.param(b"\xff\xfe\x00garbage", 400, id="not UTF-8"),
        pytest.param(b"[" * 5000 + b"]" * 5000, 400, id="deeply nested"),
        pytest.param(b"[]", 400, id="a list"),
        pytest.param(b'{"object": "page", "entry": []}', 400, id="another object"),
        pytest.param(b'{"object": "whatsapp_business_account"}', 400, id="no entry"),
        pytest.param(
            b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "x"}]}]}',
            400,
            id="change without value",
        ),
        pytest.param(
            json.dumps(wa.notification("1", messages=[{"from": WA_ID, "type": "text"}])).encode(),
            400,
            id="message without id",
        ),
    ],
)
def test_bad_bodies_are_a_4xx_with_a_reason_and_store_nothing(account, deliver, body, status):
    response = deliver(account, body)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]
    assert all_rows() == (0, 0, 0)


def test_an_oversized_body_is_413(account, deliver, settings):
    settings.WEBHOOK_MAX_BYTES = 2048
    payload = text_notification(account, "x" * 3000)
    response = deliver(account, payload)
    assert response.status_code == 413
    assert "error" in response.json()
    assert all_rows() == (0, 0, 0)


def test_other_fields_of_the_business_account_are_accepted_and_ignored(account, deliver):
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {"event": "APPROVED", "message_template_id": 12},
                    }
                ],
            }
        ],
    }
    response = deliver(account, payload)
    assert response.status_code == 200
    assert all_rows() == (0, 0, 0)


# Tenants -------------------------------------------------------------------------------------


def test_an_account_stores_only_into_its_own_tenant(account, account_b, whatsapp, deliver):
    deliver(account, text_notification(account))

    assert len(messages(account.tenant, role=Message.Role.USER)) == 1
    assert messages(account_b.tenant) == []
    (send,) = whatsapp.sends
    assert send.phone_number_id == account.phone_number_id
    # tenant B's secret does not open tenant A's webhook
    response = deliver(account, text_notification(account, "otro"), secret=account_b.app_secret)
    assert response.status_code == 403
    assert len(messages(account.tenant, role=Message.Role.USER)) == 1


def test_a_status_through_tenant_a_never_touches_tenant_b(
    account, account_b, whatsapp, deliver, fake_llm
):
    reply_b = answered(deliver, account_b, fake_llm)
    wamid_b = whatsapp.sent_ids()[0]
    payload = wa.notification(
        account.phone_number_id,
        statuses=[
            wa.status(wamid_b, "read", WA_ID),
            wa.status(wamid_b, "failed", WA_ID, error=131047),
        ],
    )

    response = deliver(account, payload, work=False)

    assert response.status_code == 200 and response.json()["ignored"] == 2
    reply_b.refresh_from_db()
    assert reply_b.delivery_status == Message.Delivery.SENT
    assert reply_b.delivery_error == ""
    assert not conversation_of(reply_b).needs_attention
