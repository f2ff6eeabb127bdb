"""Telegram end to end: Updates POSTed to the webhook through Django's ASGI handler, the
background work run by a real worker (manage.py worker), replies sent to a Bot API server
on 127.0.0.1 (tests/fakes/telegram_server.py) through the production sender."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command
from django.test import AsyncClient
from django_tasks_db.models import DBTaskResult

from channels_app.inbox import ONLY_TEXT
from channels_app.models import ChannelAccount, InboundEvent
from channels_app.telegram.transport import transport
from crm.models import Contact, Conversation, Message
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import ChannelAccountFactory, ConversationRouteFactory
from tests.fakes.telegram_server import (
    FakeTelegram,
    media_update,
    private_message,
    text_update,
    update,
)

# The background work runs in a real worker (manage.py worker), which closes its database
# connection when done: the test's data must be committed, not in a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)

CHAT = 5550001
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def telegram(settings):
    """The Bot API the senders talk to; retries back off in milliseconds."""
    server = FakeTelegram().start()
    settings.TELEGRAM_API_BASE = server.base_url
    settings.CHANNEL_SEND_BACKOFF = 0.01
    yield server
    server.stop()


def make_bot(tenant, **kwargs: Any) -> ChannelAccount:
    with tenant_scope(tenant):
        return ChannelAccountFactory(tenant=tenant, **kwargs)


@pytest.fixture
def bot(tenant_a) -> ChannelAccount:
    return make_bot(tenant_a, name="Ventas")


def bot_id(account: ChannelAccount) -> str:
    return account.bot_token.split(":")[0]


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST to a bot's webhook as Telegram does; tasks queued on commit are really queued."""

    def send(
        account: ChannelAccount,
        payload: Any = None,
        *,
        secret: str | None = "",
        raw: bytes | None = None,
        key: str | None = None,
    ):
        headers = {}
        if secret is not None:
            headers[SECRET_HEADER] = secret or account.webhook_secret
        body = raw if raw is not None else json.dumps(payload).encode()
        path = f"/webhooks/telegram/{key or account.key}/"
        with django_capture_on_commit_callbacks(execute=True):
            return async_to_sync(AsyncClient().post)(
                path, data=body, content_type="application/json", headers=headers
            )

    return send


def run_worker() -> None:
    """What a production worker process does: run every queued task, then stop."""
    call_command("worker", "--batch", stdout=io.StringIO())


def stored(model) -> int:
    with scopes_disabled():
        return model.objects.count()


def assert_nothing_stored(telegram: FakeTelegram) -> None:
    assert stored(Message) == stored(Contact) == stored(Conversation) == 0
    assert DBTaskResult.objects.count() == 0
    run_worker()
    assert telegram.calls() == []


def events(tenant) -> list[InboundEvent]:
    with tenant_scope(tenant):
        return list(InboundEvent.objects.order_by("pk"))


def messages(tenant, role: str | None = None) -> list[Message]:
    with tenant_scope(tenant):
        found = Message.objects.select_related("conversation__contact").order_by("pk")
        return list(found.filter(role=role) if role else found)


# A text message, answered -----------------------------------------------------------


def test_text_message_is_stored_raw_in_the_request_and_resolved_and_answered_by_the_worker(
    telegram, bot, tenant_a, post, fake_llm
):
    fake_llm.text("¡Hola Ana! Tenemos medidores de pH portátiles.", delay=0.3)
    payload = text_update(CHAT, "Hola, necesito un medidor de pH", first_name="Ana")
    message_id = payload["message"]["message_id"]

    response = post(bot, payload)

    assert response.status_code == 200
    assert response.json() == {"ok": True, "duplicate": False}
    assert fake_llm.requests == [] and telegram.calls() == []  # nothing answered in the request
    # the request stored the raw event only: contact and conversation are the worker's job
    [event] = events(tenant_a)
    assert (event.external_id, event.processed_at) == (
        f"tg:{bot_id(bot)}:{CHAT}:{message_id}",
        None,
    )
    assert stored(Message) == stored(Contact) == stored(Conversation) == 0
    [task] = DBTaskResult.objects.all()
    assert task.task_path == "channels_app.tasks.inbound_resolve_task"

    run_worker()

    [inbound] = messages(tenant_a, Message.Role.USER)
    assert inbound.content == "Hola, necesito un medidor de pH"
    assert inbound.external_id == f"tg:{bot_id(bot)}:{CHAT}:{message_id}"
    assert inbound.conversation.contact.full_name == "Ana Gómez"
    assert inbound.conversation.contact.platform_user_id == str(CHAT)
    assert inbound.conversation.channel == "telegram"
    [send] = telegram.calls("sendMessage")
    assert send.token == bot.bot_token
    assert send.body == {"chat_id": CHAT, "text": "¡Hola Ana! Tenemos medidores de pH portátiles."}
    typing = telegram.calls("sendChatAction", chat_id=CHAT)
    assert typing and typing[0].body["action"] == "typing" and typing[0].at < send.at
    [reply] = messages(tenant_a, Message.Role.ASSISTANT)
    assert reply.delivery_status == Message.Delivery.SENT
    assert reply.external_id == f"tg-out:{bot_id(bot)}:{CHAT}:1001"
    assert messages(tenant_a, Message.Role.USER)[0].handled_at is not None


def test_a_redelivered_update_is_stored_and_answered_once(telegram, bot, tenant_a, post):
    payload = text_update(CHAT, "Busco un turbidímetro")

    first, again = post(bot, payload), post(bot, payload)

    assert first.json() == {"ok": True, "duplicate": False}
    assert again.status_code == 200 and again.json() == {"ok": True, "duplicate": True}
    assert len(events(tenant_a)) == 1
    run_worker()
    assert len(messages(tenant_a, Message.Role.USER)) == 1
    assert len(telegram.calls("sendMessage")) == 1  # the catalog fallback (no LLM key)
    assert len(messages(tenant_a, Message.Role.ASSISTANT)) == 1


# Authenticity, bad requests ---------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "wrong-secret", " ", "x" * 300])
def test_missing_or_forged_secret_is_403_and_nothing_is_stored_or_sent(telegram, bot, post, secret):
    response = post(bot, text_update(CHAT, "hola"), secret=secret)

    assert response.status_code == 403
    assert response.json()["ok"] is False and "Secret-Token" in response.json()["error"]
    assert_nothing_stored(telegram)


def test_unknown_or_inactive_key_is_404(telegram, bot, tenant_a, post):
    inactive = make_bot(tenant_a, name="Vieja", is_active=False)
    whatsapp = make_bot(tenant_a, name="WA", kind=ChannelAccount.Kind.WHATSAPP)

    for account, key in [(bot, "no-such-key"), (inactive, None), (whatsapp, None)]:
        response = post(account, text_update(CHAT, "hola"), key=key)
        assert response.status_code == 404, account
        assert response.json() == {"ok": False, "error": "unknown webhook"}
    assert_nothing_stored(telegram)


def test_only_post_is_allowed(bot):
    response = async_to_sync(AsyncClient().get)(bot.webhook_path())
    assert response.status_code == 405 and response["Allow"] == "POST"


@pytest.mark.parametrize(
    ("raw", "status", "error"),
    [
        (b"{not json", 400, "malformed JSON"),
        (b"\xff\xfe", 400, "malformed JSON"),
        (b"", 400, "malformed JSON"),
        (b"[]", 400, "not a Telegram Update"),
        (b'"update"', 400, "not a Telegram Update"),
        (b'{"message": {"text": "hola"}}', 400, "not a Telegram Update"),
        (b'{"update_id": "12"}', 400, "not a Telegram Update"),
        (b'{"update_id": 12, "message": {"message_id": 1, "date": 1}}', 400, "not a Telegram"),
        (
            b'{"update_id": 12, "message": {"message_id": 1, "date": 1, '
            b'"chat": {"id": "abc", "type": "private"}, "text": "hola"}}',
            400,
            "not a Telegram Update",
        ),
        (json.dumps(text_update(CHAT, "x" * 3000)).encode(), 413, "body larger than 2000"),
    ],
)
def test_bad_bodies_are_4xx_json_and_nothing_is_stored(
    telegram, bot, post, settings, raw, status, error
):
    settings.WEBHOOK_MAX_BYTES = 2000

    response = post(bot, raw=raw)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["ok"] is False and body["error"].startswith(error)
    assert "Traceback" not in response.content.decode()
    if error == "not a Telegram Update":
        assert body["details"] and {"field", "message"} <= set(body["details"][0])
    assert_nothing_stored(telegram)


def test_wrong_shape_names_the_field(bot, post):
    body = post(bot, raw=b'{"update_id": "12"}').json()
    assert body["details"] == [{"field": "update_id", "message": "Input should be a valid integer"}]


# What the bot does not answer ---------------------------------------------------------


def _my_chat_member() -> dict[str, Any]:
    user = {"id": CHAT, "is_bot": False, "first_name": "Ana"}
    bot_user = {"id": 100001, "is_bot": True, "first_name": "Sales Bot"}
    return update(
        "my_chat_member",
        chat={"id": CHAT, "type": "private", "first_name": "Ana"},
        **{"from": user},
        date=1700000000,
        old_chat_member={"status": "member", "user": bot_user},
        new_chat_member={"status": "kicked", "user": bot_user, "until_date": 0},
    )


IGNORED = {
    "edited_message": lambda: update("edited_message", **private_message(CHAT, text="editado")),
    "channel_post": lambda: update(
        "channel_post",
        message_id=7,
        date=1700000000,
        chat={"id": -1001234567890, "type": "channel", "title": "Novedades"},
        text="Nuevo catálogo",
    ),
    "my_chat_member": _my_chat_member,
    "a future update kind": lambda: {"update_id": 99, "brand_new_kind": {"x": 1}},
    "group chat": lambda: text_update(-4001, "hola bot", chat_type="group"),
    "supergroup chat": lambda: text_update(-1004001, "hola bot", chat_type="supergroup"),
    "another bot": lambda: text_update(CHAT, "ping", is_bot=True),
    "service message": lambda: update(
        "message", **private_message(CHAT, write_access_allowed={"from_request": True})
    ),
}


@pytest.mark.parametrize("kind", IGNORED)
def test_other_updates_chats_and_senders_are_acknowledged_and_ignored(telegram, bot, post, kind):
    response = post(bot, IGNORED[kind]())

    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["ignored"]
    assert_nothing_stored(telegram)


# Media --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "language_code", "language"),
    [
        ("photo", "es", "es"),
        ("voice", "es-419", "es"),
        ("sticker", "en", "en"),
        ("document", "pt-br", "pt"),
        ("document", "de", "en"),  # a language we do not write: English
        ("location", None, "es"),  # no hint: the tenant's language
        ("contact", "es", "es"),
    ],
)
def test_media_without_text_gets_a_polite_reply_in_the_users_language(
    telegram, bot, tenant_a, post, fake_llm, kind, language_code, language
):
    response = post(bot, media_update(CHAT, kind, language_code=language_code))

    assert response.status_code == 200 and response.json()["duplicate"] is False
    run_worker()
    [inbound] = messages(tenant_a, Message.Role.USER)
    assert inbound.content == f"[{kind}]" and inbound.handled_at is not None
    assert telegram.sent(CHAT) == [ONLY_TEXT[language]]
    assert fake_llm.requests == []  # no turn for what the bot cannot read
    [reply] = messages(tenant_a, Message.Role.ASSISTANT)
    assert reply.content == ONLY_TEXT[language]
    assert reply.delivery_status == Message.Delivery.SENT


def test_a_caption_is_read_as_text(telegram, bot, tenant_a, post, fake_llm):
    fake_llm.text("Sí, ese medidor lo tenemos en stock.")

    post(bot, media_update(CHAT, "photo", caption="¿Tienen este medidor de pH?"))
    run_worker()

    [inbound] = messages(tenant_a, Message.Role.USER)
    assert inbound.content == "¿Tienen este medidor de pH?"
    last_user = [m for m in fake_llm.requests[0].body["messages"] if m["role"] == "user"][-1]
    assert "¿Tienen este medidor de pH?" in last_user["content"]
    assert telegram.sent(CHAT) == ["Sí, ese medidor lo tenemos en stock."]


# Sending: retries, permanent errors, splitting -----------------------------------------


def test_a_rate_limit_is_waited_out_as_telegram_asks(telegram, bot, tenant_a, post, fake_llm):
    fake_llm.text("Con gusto le cotizo.")
    telegram.rate_limit("sendMessage", retry_after=1)

    post(bot, text_update(CHAT, "Cotización de 3 sondas"))
    run_worker()

    first, second = telegram.calls("sendMessage")
    assert second.at - first.at >= 0.9  # retry_after, not the 10 ms backoff
    assert first.body == second.body
    [reply] = messages(tenant_a, Message.Role.ASSISTANT)
    assert reply.delivery_status == Message.Delivery.SENT


def test_transient_errors_are_retried_and_the_token_never_logged(
    telegram, bot, tenant_a, post, fake_llm, caplog
):
    caplog.set_level(logging.DEBUG)
    fake_llm.text("Le envío la ficha técnica.")
    telegram.fail("sendMessage", 502, times=2)

    post(bot, text_update(CHAT, "Ficha del TU-1"))
    run_worker()

    assert len(telegram.calls("sendMessage")) == 3
    [reply] = messages(tenant_a, Message.Role.ASSISTANT)
    assert reply.delivery_status == Message.Delivery.SENT
    assert "retry in" in caplog.text
    assert bot.bot_token not in caplog.text
    assert bot.bot_token.split(":")[1] not in caplog.text


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("block", "Forbidden: bot was blocked by the user"),
        ("chat not found", "Bad Request: chat not found"),
    ],
)
def test_a_permanent_refusal_fails_the_message_and_flags_the_conversation(
    telegram, bot, tenant_a, post, fake_llm, script, reason
):
    fake_llm.text("Aquí tiene la cotización.")
    if script == "block":
        telegram.block(CHAT)
    else:
        telegram.fail("sendMessage", 400, reason)

    post(bot, text_update(CHAT, "Cotización por favor"))
    run_worker()

    assert len(telegram.calls("sendMessage")) == 1  # never retried
    [reply] = messages(tenant_a, Message.Role.ASSISTANT)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert reply.delivery_error == reason
    conversation = reply.conversation
    conversation.refresh_from_db()
    assert conversation.needs_attention  # the LLM answered: only the delivery flags it
    assert conversation.attention_reason == f"delivery failed: {reason}"
    run_worker()  # nothing left to do: not resent
    assert len(telegram.calls("sendMessage")) == 1


def test_a_long_reply_is_sent_in_pieces_of_at_most_4096_characters(
    telegram, bot, tenant_a, post, fake_llm
):
    paragraphs = [
        f"Párrafo {n}: " + "el turbidímetro mide de 0 a 1000 NTU. " * 30 for n in range(8)
    ]
    reply_text = "\n\n".join(paragraphs)
    assert len(reply_text) > 2 * 4096
    fake_llm.text(reply_text)

    post(bot, text_update(CHAT, "Cuéntame todo del turbidímetro"))
    run_worker()

    pieces = telegram.sent(CHAT)
    assert len(pieces) == 3
    assert all(0 < len(piece) <= 4096 for piece in pieces)
    assert " ".join(pieces).split() == reply_text.split()  # in order, nothing lost
    [reply] = messages(tenant_a, Message.Role.ASSISTANT)
    assert reply.delivery_status == Message.Delivery.SENT
    assert reply.external_id == f"tg-out:{bot_id(bot)}:{CHAT}:1001"  # the first piece


def test_typing_is_one_best_effort_attempt(telegram, bot, tenant_a, settings):
    with tenant_scope(tenant_a):
        route = ConversationRouteFactory(tenant=tenant_a, account=bot, address=str(CHAT))
    telegram.fail("sendChatAction", 500)

    async_to_sync(transport.typing)(route)

    [call] = telegram.calls("sendChatAction")
    assert call.body == {"chat_id": CHAT, "action": "typing"}
    settings.TELEGRAM_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    async_to_sync(transport.typing)(route)  # does not raise
    assert transport.token_callback(route) is None
    assert async_to_sync(transport.mark_read)(route, "tg:1:2:3") is None


def test_a_network_failure_is_transient_and_hides_the_token(bot, tenant_a, settings):
    settings.TELEGRAM_API_BASE = "http://127.0.0.1:9"
    settings.CHANNEL_SEND_RETRIES = 1
    settings.CHANNEL_SEND_BACKOFF = 0.01
    with tenant_scope(tenant_a):
        route = ConversationRouteFactory(tenant=tenant_a, account=bot, address=str(CHAT))

    result = async_to_sync(transport.send_text)(route, "hola")

    assert result.ok is False and result.permanent is False
    assert result.error.startswith("network error") and bot.bot_token not in result.error


# Tenants --------------------------------------------------------------------------------


def test_a_webhook_stores_only_into_its_own_tenant(telegram, tenant_a, tenant_b, post):
    bot_a, bot_b = make_bot(tenant_a, name="Ventas"), make_bot(tenant_b, name="Ventas")

    forged = post(bot_a, text_update(CHAT, "hola"), secret=bot_b.webhook_secret)
    assert forged.status_code == 403
    assert post(bot_a, text_update(CHAT, "Hola desde A")).status_code == 200
    assert post(bot_b, text_update(CHAT, "Hola desde B")).status_code == 200
    assert [e.tenant_id for e in events(tenant_a) + events(tenant_b)] == [tenant_a.pk, tenant_b.pk]
    run_worker()

    [in_a] = messages(tenant_a, Message.Role.USER)
    [in_b] = messages(tenant_b, Message.Role.USER)
    assert (in_a.content, in_a.tenant_id) == ("Hola desde A", tenant_a.pk)
    assert (in_b.content, in_b.tenant_id) == ("Hola desde B", tenant_b.pk)
    assert in_a.conversation.contact_id != in_b.conversation.contact_id
    tokens = sorted(c.token for c in telegram.calls("sendMessage"))
    assert tokens == sorted([bot_a.bot_token, bot_b.bot_token])


# set_telegram_webhook -----------------------------------------------------------------


def test_set_telegram_webhook_registers_url_secret_and_updates(telegram, bot, settings):
    settings.PUBLIC_BASE_URL = "https://ventas.example.com"
    out = io.StringIO()

    call_command("set_telegram_webhook", "alpha", "--name", "Ventas", "--json", stdout=out)

    hook = telegram.webhooks[bot.bot_token]
    assert hook["url"] == f"https://ventas.example.com/webhooks/telegram/{bot.key}/"
    assert hook["secret_token"] == bot.webhook_secret
    assert hook["allowed_updates"] == ["message", "callback_query"]  # a press of Accept
    summary = json.loads(out.getvalue())
    assert summary["ok"] is True and summary["url"] == hook["url"]
    assert summary["description"] == "Webhook was set"
    assert bot.bot_token not in out.getvalue() and bot.webhook_secret not in out.getvalue()


def test_set_telegram_webhook_with_a_base_url_and_the_only_account(telegram, bot):
    out = io.StringIO()
    call_command("set_telegram_webhook", "alpha", "--url", "https://bots.example.org/", stdout=out)
    url = f"https://bots.example.org/webhooks/telegram/{bot.key}/"
    assert telegram.webhooks[bot.bot_token]["url"] == url
    assert url in out.getvalue()


@pytest.mark.parametrize(
    ("args", "script", "message"),
    [
        (["--url", "http://insecure.example"], None, "An HTTPS URL must be provided"),
        (["--url", "https://x.example"], (401, "Unauthorized"), "Unauthorized"),
        (["--account", "Otra"], None, "No Telegram account named 'Otra'"),
    ],
)
def test_set_telegram_webhook_reports_telegrams_error(telegram, bot, args, script, message):
    if script:
        telegram.fail("setWebhook", *script)
    with pytest.raises(CommandError, match=message) as raised:
        call_command("set_telegram_webhook", "alpha", *args, stdout=io.StringIO())
    assert bot.bot_token not in str(raised.value)
    assert bot.bot_token not in telegram.webhooks


def test_set_telegram_webhook_needs_an_account(telegram, tenant_a):
    with pytest.raises(CommandError, match="no Telegram account"):
        call_command("set_telegram_webhook", "alpha", stdout=io.StringIO())
    assert telegram.calls() == []
