"""Channel secrets in use: the webhooks authenticate against the encrypted secrets, and a
platform error that echoes a token reaches no stored error, no log record and no admin
page, through every sender (Telegram, WhatsApp and the widget; the bot's replies and a
rep's).

The platforms are the real HTTP servers on 127.0.0.1 (tests/fakes), scripted to echo the
token they were sent in their error bodies; the work runs in a real worker."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.test import AsyncClient, Client
from django.urls import reverse

from channels_app.models import ChannelAccount
from channels_app.tasks import conversation_answer_enqueue
from channels_app.widget.services import visitor_message_store
from crm.models import Conversation, Message
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import ChannelAccountFactory
from tests.fakes import whatsapp_server as wa
from tests.fakes.telegram_server import FakeTelegram, text_update
from tests.fakes.whatsapp_server import FakeWhatsApp

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BOT_TOKEN = "7301234567:AAHk3Jx9-secret-bot-token-0123456789"
WEBHOOK_SECRET = "telegram-webhook-secret-0123456789"
ACCESS_TOKEN = "EAAGsecretAccessToken0123456789abcdef"
APP_SECRET = "meta-app-secret-0123456789"
VERIFY_TOKEN = "meta-verify-token-0123456789"
REDIS_PASSWORD = "redis-password-0123456789"
SECRETS = (
    BOT_TOKEN,
    BOT_TOKEN.split(":")[1],
    WEBHOOK_SECRET,
    ACCESS_TOKEN,
    APP_SECRET,
    REDIS_PASSWORD,
)
CHAT = 5550777
WA_ID = "573001234567"
TELEGRAM_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture(autouse=True)
def logs(caplog):
    """Every record of every logger, httpx's request lines (with their URLs) included."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore")
    return caplog


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.CHANNEL_SEND_BACKOFF = 0.01
    settings.CHANNEL_SEND_RETRIES = 1
    settings.CHANNEL_SEND_TIMEOUT = 5.0
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def telegram(settings):
    server = FakeTelegram().start()
    settings.TELEGRAM_API_BASE = server.base_url
    yield server
    server.stop()


@pytest.fixture
def whatsapp(settings):
    server = FakeWhatsApp().start()
    settings.WHATSAPP_API_BASE = server.base_url
    yield server
    server.stop()


@pytest.fixture
def bot(tenant_a) -> ChannelAccount:
    with tenant_scope(tenant_a):
        return ChannelAccountFactory(
            tenant=tenant_a, name="Ventas", bot_token=BOT_TOKEN, webhook_secret=WEBHOOK_SECRET
        )


@pytest.fixture
def number(tenant_a, whatsapp) -> ChannelAccount:
    with tenant_scope(tenant_a):
        account = ChannelAccountFactory(
            tenant=tenant_a,
            kind=ChannelAccount.Kind.WHATSAPP,
            name="WhatsApp",
            bot_token="",
            phone_number_id="106540352242922",
            access_token=ACCESS_TOKEN,
            app_secret=APP_SECRET,
            verify_token=VERIFY_TOKEN,
        )
    whatsapp.number(account.phone_number_id, ACCESS_TOKEN)
    return account


def run_worker() -> None:
    call_command("worker", "--batch", stdout=io.StringIO())


def post(path: str, raw: bytes, headers: dict[str, str], capture: Any) -> Any:
    with capture(execute=True):
        return async_to_sync(AsyncClient().post)(
            path, data=raw, content_type="application/json", headers=headers
        )


def telegram_says(bot: ChannelAccount, text: str, capture: Any) -> None:
    raw = text_update(CHAT, text)
    response = post(bot.webhook_path(), _json(raw), {TELEGRAM_HEADER: WEBHOOK_SECRET}, capture)
    assert response.status_code == 200


def whatsapp_says(number: ChannelAccount, payload: dict[str, Any], capture: Any) -> Any:
    raw, headers = wa.signed(payload, APP_SECRET)
    return post(number.webhook_path(), raw, headers, capture)


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def only_conversation(tenant) -> Conversation:
    with tenant_scope(tenant):
        [conversation] = Conversation.objects.all()
        return conversation


def rep_replies(client: Client, conversation: Conversation, text: str) -> None:
    path = reverse("admin:crm_conversation_reply", args=[conversation.pk])
    assert client.post(path, {"text": text}).status_code == 302
    run_worker()


def assert_no_secret_anywhere(client: Client, logs, *, failed: int) -> None:
    """No secret in a stored error, a log record, or the pages reps see."""
    with scopes_disabled():
        errors = list(
            Message.objects.exclude(delivery_error="").values_list("delivery_error", flat=True)
        )
        flags = list(Conversation.objects.values_list("attention_reason", flat=True))
        conversations = list(Conversation.objects.values_list("pk", flat=True))
    assert len(errors) >= failed and all("***" in e for e in errors[:failed])
    pages = [client.get(reverse("admin:crm_conversation_changelist")).content.decode()]
    for pk in conversations:
        for view in ("change", "messages"):
            response = client.get(reverse(f"admin:crm_conversation_{view}", args=[pk]))
            assert response.status_code == 200
            pages.append(response.content.decode())
    logged = [logs.text, *(r.getMessage() for r in logs.records)]
    for secret in SECRETS:
        for where, texts in (("errors", errors), ("flags", flags), ("logs", logged)):
            assert not [t for t in texts if secret in t], f"{secret} in {where}"
        assert not [p for p in pages if secret in p], f"{secret} on an admin page"


# The webhooks authenticate against the encrypted secrets ------------------------------------


def test_the_webhooks_authenticate_with_the_secrets_stored_encrypted(
    bot, number, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    raw = _json(text_update(CHAT, "hola"))
    assert (
        post(bot.webhook_path(), raw, {TELEGRAM_HEADER: WEBHOOK_SECRET}, capture).status_code == 200
    )
    assert post(bot.webhook_path(), raw, {TELEGRAM_HEADER: "wrong"}, capture).status_code == 403

    query = {"hub.mode": "subscribe", "hub.challenge": "4242", "hub.verify_token": VERIFY_TOKEN}
    verified = async_to_sync(AsyncClient().get)(number.webhook_path(), query)
    assert (verified.status_code, verified.content) == (200, b"4242")
    query["hub.verify_token"] = "wrong"
    assert async_to_sync(AsyncClient().get)(number.webhook_path(), query).status_code == 403

    notification = wa.notification(
        number.phone_number_id, contacts=[wa.contact(WA_ID)], messages=[wa.text(WA_ID, "hola")]
    )
    assert whatsapp_says(number, notification, capture).status_code == 200
    raw, _ = wa.signed(notification, APP_SECRET)
    forged = {"X-Hub-Signature-256": wa.signature(raw, "not-the-app-secret")}
    assert post(number.webhook_path(), raw, forged, capture).status_code == 403


# A token echoed by a platform is redacted everywhere -----------------------------------------


def test_telegram_errors_echoing_the_token_reach_no_error_log_or_page(
    client, owner, bot, telegram, fake_llm, logs, django_capture_on_commit_callbacks
):
    echo = f"Unauthorized: token {BOT_TOKEN} (https://api.telegram.org/bot{BOT_TOKEN}/sendMessage)"
    fake_llm.text("Con gusto le ayudo.")
    telegram.fail("sendMessage", 502, echo)  # transient: logged, retried
    telegram.fail("sendMessage", 401, echo)  # then refused for good: stored, flagged

    telegram_says(bot, "Necesito un medidor de pH", django_capture_on_commit_callbacks)
    run_worker()

    conversation = only_conversation(bot.tenant)
    with tenant_scope(bot.tenant):
        [reply] = Message.objects.filter(role=Message.Role.ASSISTANT)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert (
        reply.delivery_error
        == "Unauthorized: token *** (https://api.telegram.org/bot***/sendMessage)"
    )
    assert conversation.needs_attention and "***" in conversation.attention_reason

    client.force_login(owner)
    telegram.fail("sendMessage", 403, f"Forbidden: bot {BOT_TOKEN.split(':')[1]} was blocked")
    rep_replies(client, conversation, "Le escribe Marta, de ventas.")

    with tenant_scope(bot.tenant):
        [rep_reply] = Message.objects.filter(role=Message.Role.AGENT)
    assert rep_reply.delivery_error == "Forbidden: bot *** was blocked"
    assert any("/bot***/sendMessage" in r.getMessage() for r in logs.records)  # httpx's line
    assert_no_secret_anywhere(client, logs, failed=2)


def test_whatsapp_errors_echoing_the_token_reach_no_error_log_or_page(
    client, owner, number, whatsapp, fake_llm, logs, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    fake_llm.text("Con gusto le ayudo.")
    whatsapp.error(131000, message=f"Bearer {ACCESS_TOKEN} is throttled")  # transient
    whatsapp.error(131026, message=f"Token {ACCESS_TOKEN} rejected ({APP_SECRET})")
    whatsapp.error(190, message=f"Invalid OAuth access token {ACCESS_TOKEN}", reads=True)

    notification = wa.notification(
        number.phone_number_id,
        contacts=[wa.contact(WA_ID)],
        messages=[wa.text(WA_ID, "Necesito un turbidímetro")],
    )
    assert whatsapp_says(number, notification, capture).status_code == 200
    run_worker()

    conversation = only_conversation(number.tenant)
    with tenant_scope(number.tenant):
        [reply] = Message.objects.filter(role=Message.Role.ASSISTANT)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert reply.delivery_error.startswith("131026: Token *** rejected (***)")
    assert len(whatsapp.reads) == 1
    assert any(
        "mark read: HTTP 401 190: Invalid OAuth access token ***" in r.getMessage()
        for r in logs.records
    )

    client.force_login(owner)
    rep_replies(client, conversation, "Le escribe Marta, de ventas.")
    with tenant_scope(number.tenant):
        [rep_reply] = Message.objects.filter(role=Message.Role.AGENT)
        Message.objects.filter(pk=rep_reply.pk).update(external_id="wa:wamid.REP")
    # Meta reports the rep's reply failed, echoing the token in its status error.
    failed = wa.status("wamid.REP", "failed", WA_ID, error=131026)
    failed["errors"][0]["message"] = f"Undeliverable with token {ACCESS_TOKEN}"
    statuses = wa.notification(number.phone_number_id, statuses=[failed])
    assert whatsapp_says(number, statuses, capture).status_code == 200

    with tenant_scope(number.tenant):
        rep_reply.refresh_from_db()
    assert rep_reply.delivery_error.startswith("131026: Undeliverable with token ***")
    assert_no_secret_anywhere(client, logs, failed=2)


class LeakyLayer:
    """A channel layer whose Redis is down and whose errors name its URL, password included."""

    extensions: list[str] = []

    def __init__(self, **_: Any) -> None:
        self.url = f"redis://:{REDIS_PASSWORD}@10.0.0.5:6379/0"

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        raise ConnectionError(f"Error connecting to {self.url}: connection refused")

    async def group_add(self, group: str, channel: str) -> None:
        raise ConnectionError(f"Error connecting to {self.url}: connection refused")

    async def new_channel(self, prefix: str = "specific.") -> str:
        return f"{prefix}leaky"


def test_widget_errors_naming_the_redis_password_reach_no_error_log_or_page(
    client, owner, tenant_a, settings, fake_llm, logs
):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.LeakyLayer"}}
    with tenant_scope(tenant_a):
        widget = ChannelAccountFactory(
            tenant=tenant_a,
            kind=ChannelAccount.Kind.WIDGET,
            name="Web",
            bot_token="",
            allowed_origins="https://shop.alpha.example",
        )
    fake_llm.text("Con gusto le ayudo.")

    conversation_id, _ = visitor_message_store(
        account=widget, visitor_id="visitor-1", text="¿Tienen turbidímetros?", client_id="c1"
    )
    conversation_answer_enqueue(tenant_id=tenant_a.pk, conversation_id=conversation_id)
    run_worker()

    with tenant_scope(tenant_a):
        [reply] = Message.objects.filter(role=Message.Role.ASSISTANT)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert reply.delivery_error == "channel layer: ConnectionError"
    assert any("redis://:***@10.0.0.5" in r.getMessage() for r in logs.records)
    client.force_login(owner)
    assert_no_secret_anywhere(client, logs, failed=0)


# The channel account pages ----------------------------------------------------------------------


def test_the_channel_account_pages_show_no_secret_and_no_ciphertext(client, owner, bot, number):
    client.force_login(owner)
    pages = [client.get("/admin/channels_app/channelaccount/").content.decode()]
    for account in (bot, number):
        path = reverse("admin:channels_app_channelaccount_change", args=[account.pk])
        pages.append(client.get(path).content.decode())
    for page in pages:
        assert "gAAAAA" not in page  # no Fernet token rendered either
        for secret in SECRETS:
            assert secret not in page
