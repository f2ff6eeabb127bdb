"""The widget's WebSocket through the real ASGI application, with the agent talking
to an OpenAI-compatible server on 127.0.0.1 (streamed) or in fallback mode."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket as socket_module
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlparse

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django_tasks_db.models import DBTaskResult

from channels_app.models import ChannelAccount, ConversationRoute
from channels_app.transport import SendResult
from channels_app.widget.consumers import answers_wait
from channels_app.widget.transport import transport, visitor_group
from config.asgi import application
from crm.models import Contact, Conversation, Message, Platform
from tenants.scoping import scopes_disabled, tenant_scope

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN_A = "https://shop.alpha.example"
ORIGIN_B = "https://bravo.example:8443"
REPLY = "Le recomiendo el turbidímetro TU-5200: mide de 0 a 1000 NTU en campo."


@pytest.fixture(autouse=True)
def fresh_layer(settings, catalog_index):
    """A new in-memory channel layer per test (its queues belong to one event loop)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def widget(tenant, origins: str, name: str = "Web") -> ChannelAccount:
    with tenant_scope(tenant):
        return ChannelAccount.objects.create(
            tenant=tenant,
            kind=ChannelAccount.Kind.WIDGET,
            name=name,
            allowed_origins=origins,
            greeting="¡Hola! ¿En qué le ayudo?",
            color="#123456",
        )


@pytest.fixture
def widget_a(tenant_a) -> ChannelAccount:
    return widget(tenant_a, f"{ORIGIN_A}\nhttp://localhost:8000")


@pytest.fixture
def widget_b(tenant_b) -> ChannelAccount:
    return widget(tenant_b, ORIGIN_B)


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    """Run an async scenario, then let the answers it started finish in the same loop."""

    async def whole() -> Any:
        try:
            return await scenario()
        finally:
            assert await answers_wait(timeout=15), "an answer task never finished"

    return async_to_sync(whole)()


def socket(key: str, *, origin: str | None = ORIGIN_A, token: str = "") -> WebsocketCommunicator:
    path = f"/ws/widget/{key}/" + (f"?token={quote(token)}" if token else "")
    headers = [(b"origin", origin.encode())] if origin else []
    return WebsocketCommunicator(application, path, headers=headers)


async def open_socket(key: str, **kwargs: Any) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = socket(key, **kwargs)
    connected, _ = await comm.connect()
    assert connected
    ready = await comm.receive_json_from()
    assert ready["type"] == "ready", ready
    return comm, ready


async def frames_until(comm: WebsocketCommunicator, kind: str, timeout: float = 15) -> list[dict]:
    """Every frame up to and including the first of type ``kind``."""
    frames = []
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        frames.append(frame)
        if frame["type"] == kind:
            return frames


async def refused(comm: WebsocketCommunicator) -> tuple[dict[str, Any], int]:
    connected, _ = await comm.connect()
    assert connected  # accepted, told why, closed: the script then stops reconnecting
    error = await comm.receive_json_from()
    close = await comm.receive_output()
    assert close["type"] == "websocket.close"
    return error, close["code"]


def stored() -> dict[str, int]:
    with scopes_disabled():
        return {
            "contacts": Contact.objects.count(),
            "conversations": Conversation.objects.count(),
            "messages": Message.objects.count(),
        }


NOTHING = {"contacts": 0, "conversations": 0, "messages": 0}


# connecting ----------------------------------------------------------------------------


def test_allowed_origin_gets_ready_with_a_signed_token_and_the_config(widget_a):
    async def scenario():
        comm, ready = await open_socket(widget_a.key, origin="http://localhost:8000")
        await comm.disconnect()
        return ready

    ready = run(scenario)
    assert ready["config"] == {
        "title": "Alpha Labs",
        "greeting": "¡Hola! ¿En qué le ayudo?",
        "color": "#123456",
        "max_chars": 2000,
        "language": "es",  # the tenant's: the script words everything in it
        "formality": "formal",
    }
    assert ready["history"] == [] and ready["advisor"] == ""
    visitor, _, signature = ready["token"].partition(":")
    assert visitor and signature and not visitor.isdigit()
    assert stored() == NOTHING  # a visitor who never writes leaves no row


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://shop.alpha.example",  # scheme must match
        "https://shop.alpha.example:444",  # port must match
        "https://shop.alpha.example.evil.example",
        None,  # no Origin header
    ],
)
def test_origin_not_allowed_is_refused_with_4403_and_nothing_stored(widget_a, origin):
    error, code = run(lambda: refused(socket(widget_a.key, origin=origin)))
    assert code == 4403
    assert error["type"] == "error" and error["code"] == "origin_refused"
    assert "token" not in error
    assert stored() == NOTHING


def test_unknown_or_inactive_key_is_refused_with_4404(widget_a):
    error, code = run(lambda: refused(socket("no-such-key")))
    assert (error["code"], code) == ("unknown_key", 4404)
    with tenant_scope(widget_a.tenant):
        ChannelAccount.objects.filter(pk=widget_a.pk).update(is_active=False)
    error, code = run(lambda: refused(socket(widget_a.key)))
    assert (error["code"], code) == ("unknown_key", 4404)
    assert stored() == NOTHING


# talking -------------------------------------------------------------------------------


def test_message_is_stored_acked_and_the_reply_streams_token_by_token(widget_a, fake_llm):
    fake_llm.text(REPLY)

    async def scenario():
        comm, ready = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": "Necesito medir turbidez", "id": "m1"})
        frames = await frames_until(comm, "message")
        await comm.disconnect()
        return ready, frames

    ready, frames = run(scenario)
    assert frames[0] == {"type": "ack", "id": "m1"}
    kinds = [f["type"] for f in frames]
    tokens = [f["text"] for f in frames if f["type"] == "token"]
    assert len(tokens) > 3  # streamed as it was written, not in one piece
    assert "".join(tokens) == REPLY
    assert kinds.index("typing") < kinds.index("token")
    final = frames[-1]
    assert final["role"] == "assistant" and final["text"] == REPLY and final["id"]
    assert fake_llm.requests[0].body["stream"] is True

    visitor = ready["token"].partition(":")[0]
    with tenant_scope(widget_a.tenant):
        contact = Contact.objects.get()
        assert (contact.platform, contact.platform_user_id) == (Platform.WIDGET, visitor)
        assert contact.full_name == f"Web visitor {visitor[:6]}"  # reps can tell visitors apart
        conversation = Conversation.objects.get()
        assert conversation.route.account == widget_a and conversation.route.address == visitor
        user, bot = conversation.messages.order_by("pk")
    assert user.external_id == f"w:{widget_a.pk}:{visitor}:m1" and user.handled_at
    assert bot.content == REPLY and bot.answer_mode == "llm"
    assert bot.delivery_status == Message.Delivery.SENT
    assert bot.external_id == f"widget-out:{final['id']}"
    assert not DBTaskResult.objects.exists()  # answered here, not also queued for a worker


def test_reconnect_with_the_token_resumes_the_conversation_and_its_history(widget_a, fake_llm):
    fake_llm.text(REPLY).text("Con gusto. ¿Para qué laboratorio sería?")

    async def scenario():
        comm, ready = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": "Necesito medir turbidez", "id": "a"})
        await frames_until(comm, "message")
        await comm.disconnect()
        await answers_wait()

        again, resumed = await open_socket(widget_a.key, token=ready["token"])
        await again.send_json_to({"type": "message", "text": "¿Y el precio?", "id": "b"})
        last = (await frames_until(again, "message"))[-1]
        await again.disconnect()
        return ready, resumed, last

    ready, resumed, last = run(scenario)
    assert resumed["token"] == ready["token"]
    history = resumed["history"]
    assert [(h["role"], h["text"]) for h in history] == [
        ("user", "Necesito medir turbidez"),
        ("assistant", REPLY),
    ]
    assert history[0]["id"] == "a" and history[0]["time"]
    assert last["text"] == "Con gusto. ¿Para qué laboratorio sería?"
    with tenant_scope(widget_a.tenant):
        assert Contact.objects.count() == 1
        conversation = Conversation.objects.get()
        assert conversation.messages.count() == 4
    # the second turn saw the first exchange
    assert any(m["content"] == REPLY for m in fake_llm.requests[1].body["messages"])


def test_a_resent_message_after_a_reconnect_is_recognised_not_stored_twice(widget_a):
    async def scenario():
        comm, ready = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": "Hola", "id": "same"})
        await frames_until(comm, "message")
        await comm.disconnect()
        await answers_wait()
        again, _ = await open_socket(widget_a.key, token=ready["token"])
        await again.send_json_to({"type": "message", "text": "Hola", "id": "same"})
        ack = await again.receive_json_from()
        await answers_wait()
        await again.disconnect()
        return ack

    assert run(scenario) == {"type": "ack", "id": "same"}
    with tenant_scope(widget_a.tenant):
        assert Message.objects.filter(role=Message.Role.USER).count() == 1
        assert Message.objects.filter(role=Message.Role.ASSISTANT).count() == 1


def test_tampered_token_gets_a_new_visitor_and_no_history(widget_a):
    async def scenario():
        comm, ready = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": "Mi secreto: pH 4", "id": "x"})
        await frames_until(comm, "message")
        await comm.disconnect()
        await answers_wait()
        visitor, _, signature = ready["token"].partition(":")
        forged = f"{visitor}:{signature[:-3]}AAA"
        other, fresh = await open_socket(widget_a.key, token=forged)
        await other.disconnect()
        also, unsigned = await open_socket(widget_a.key, token=visitor)
        await also.disconnect()
        return ready, fresh, unsigned

    ready, fresh, unsigned = run(scenario)
    for new in (fresh, unsigned):
        assert new["history"] == []
        assert new["token"] != ready["token"]
        assert new["token"].partition(":")[0] != ready["token"].partition(":")[0]


def test_fallback_answers_when_no_llm_key_is_set(widget_a, settings):
    settings.LLM_API_KEY = ""

    async def scenario():
        comm, _ = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": "Necesito un medidor de pH"})
        frames = await frames_until(comm, "message")
        await comm.disconnect()
        return frames

    frames = run(scenario)
    assert frames[0]["type"] == "ack" and frames[0]["id"]  # a server id when none was given
    final = frames[-1]
    assert final["text"]
    assert [f["text"] for f in frames if f["type"] == "token"] == [final["text"]]
    with tenant_scope(widget_a.tenant):
        conversation = Conversation.objects.get()
        assert conversation.needs_attention
        bot = conversation.messages.get(role=Message.Role.ASSISTANT)
    assert bot.answer_mode == "fallback" and bot.delivery_status == Message.Delivery.SENT


@pytest.mark.parametrize(
    ("language", "formality", "expected"),
    [("en", "informal", ("en", "informal")), ("pt", "formal", ("pt", "formal"))],
)
def test_ready_names_the_tenants_language_and_formality(widget_a, language, formality, expected):
    from tenants.models import Tenant

    Tenant.objects.filter(pk=widget_a.tenant_id).update(
        default_language=language, formality=formality
    )
    widget_a.tenant.refresh_from_db()

    async def scenario():
        comm, ready = await open_socket(widget_a.key)
        await comm.disconnect()
        return ready

    config = run(scenario)["config"]
    assert (config["language"], config["formality"]) == expected


# typing and the rep ----------------------------------------------------------------------


def test_typing_starts_with_the_turn_and_ends_before_the_reply_never_after(widget_a, fake_llm):
    fake_llm.text(REPLY)

    async def scenario():
        comm, _ = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": "Necesito medir turbidez", "id": "t1"})
        frames = await frames_until(comm, "message")
        await answers_wait()
        after = await comm.receive_nothing(timeout=0.5)  # the turn loop's last pass is silent
        await comm.disconnect()
        return frames, after

    frames, nothing_after = run(scenario)
    typing = [f for f in frames if f["type"] == "typing"]
    assert typing[0]["active"] is True and typing[0]["turn"]
    assert typing[-1] == {"type": "typing", "active": False, "turn": typing[0]["turn"]}
    assert {f["turn"] for f in typing} == {typing[0]["turn"]}  # one turn, one id
    kinds = [f["type"] for f in frames]
    assert kinds.index("typing") < kinds.index("token")
    assert frames[-2] == typing[-1] and frames[-1]["type"] == "message"  # ended, then the reply
    assert nothing_after


@pytest.fixture
def laura(teammate):
    teammate.first_name, teammate.last_name = "Laura", "Gómez"
    teammate.save()
    return teammate


def test_a_rep_who_takes_over_is_announced_named_on_replies_and_no_dots_follow(
    widget_a, laura, fake_llm, settings
):
    from crm.audit import Actor
    from crm.services import conversation_take_over
    from desk.services import conversation_reply

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    fake_llm.text(REPLY)

    def take_over() -> None:
        with tenant_scope(widget_a.tenant):
            conversation_take_over(conversation=Conversation.objects.get(), actor=Actor.rep(laura))

    def reply(text: str) -> None:
        with tenant_scope(widget_a.tenant):
            conversation_reply(conversation=Conversation.objects.get(), author=laura, text=text)

    async def scenario():
        comm, ready = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": "¿Me atiende una persona?"})
        await frames_until(comm, "message")
        await answers_wait()
        await database_sync_to_async(take_over)()
        joined = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "message", "text": "Gracias", "id": "w1"})
        ack = await comm.receive_json_from(timeout=5)
        await answers_wait()
        quiet = await comm.receive_nothing(timeout=0.5)  # no bot turn: no typing dots
        await database_sync_to_async(reply)("Hola, soy Laura. Le preparo la oferta.")
        message = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        again, resumed = await open_socket(widget_a.key, token=ready["token"])
        await again.disconnect()
        return joined, ack, quiet, message, resumed

    joined, ack, quiet, message, resumed = run(scenario)
    assert joined == {"type": "advisor", "name": "Laura"}
    assert ack == {"type": "ack", "id": "w1"} and quiet
    assert message["type"] == "message" and message["role"] == "agent"
    assert message["author"] == "Laura" and message["text"].startswith("Hola, soy Laura")
    assert resumed["advisor"] == "Laura"  # the widget says who has the conversation
    last = resumed["history"][-1]
    assert (last["role"], last["author"]) == ("agent", "Laura")
    assert all(item["author"] == "" for item in resumed["history"][:-1])


def test_a_take_over_of_another_tenants_conversation_reaches_no_widget_of_this_one(
    widget_a, widget_b, outsider, settings
):
    """The advisor notice goes to the conversation's own visitor group only."""
    from crm.audit import Actor
    from crm.services import conversation_take_over

    def take_over_b() -> None:
        with tenant_scope(widget_b.tenant):
            conversation_take_over(
                conversation=Conversation.objects.get(), actor=Actor.rep(outsider)
            )

    async def scenario():
        comm_b, _ = await open_socket(widget_b.key, origin=ORIGIN_B)
        await comm_b.send_json_to({"type": "message", "text": "Hola"})
        await frames_until(comm_b, "message")
        await answers_wait()
        comm_a, _ = await open_socket(widget_a.key)
        await database_sync_to_async(take_over_b)()
        joined = await comm_b.receive_json_from(timeout=5)
        quiet = await comm_a.receive_nothing(timeout=0.5)
        await comm_a.disconnect()
        await comm_b.disconnect()
        return joined, quiet

    joined, quiet = run(scenario)
    assert joined["type"] == "advisor" and joined["name"]
    assert quiet


# limits and bad frames -----------------------------------------------------------------


def test_rate_limit_refuses_with_an_error_frame_keeps_the_socket_and_stores_nothing(
    widget_a, settings
):
    settings.WIDGET_RATE_LIMIT = "2/60"

    async def scenario():
        comm, _ = await open_socket(widget_a.key)
        for n in (1, 2):
            await comm.send_json_to({"type": "message", "text": f"Mensaje {n}", "id": f"r{n}"})
            await frames_until(comm, "ack")
        await comm.send_json_to({"type": "message", "text": "Mensaje 3", "id": "r3"})
        error = (await frames_until(comm, "error"))[-1]
        await answers_wait()
        await comm.send_json_to({"type": "ping"})
        pong = await frames_until(comm, "pong")
        await comm.disconnect()
        return error, pong

    error, pong = run(scenario)
    assert error["code"] == "rate_limited" and error["id"] == "r3" and error["message"]
    assert error["retry_after"] == 60  # whole seconds the script counts down, Send disabled
    assert pong[-1] == {"type": "pong"}
    with tenant_scope(widget_a.tenant):
        texts = set(
            Message.objects.filter(role=Message.Role.USER).values_list("content", flat=True)
        )
    assert texts == {"Mensaje 1", "Mensaje 2"}


def test_too_long_message_gets_an_error_frame_and_nothing_is_stored(widget_a, settings):
    settings.WIDGET_MAX_MESSAGE_CHARS = 50

    async def scenario():
        comm, _ = await open_socket(widget_a.key)
        frames = []
        for text in ("x" * 51, "y" * 5000):
            await comm.send_json_to({"type": "message", "text": text, "id": "long"})
            frames.append(await comm.receive_json_from())
        await comm.send_json_to({"type": "ping"})
        frames.append(await comm.receive_json_from())
        await comm.disconnect()
        return frames

    first, huge, pong = run(scenario)
    assert first["code"] == "too_long" and first["id"] == "long" and "50" in first["message"]
    assert first["max_chars"] == 50  # a code and its parameter: the script words it
    assert huge["code"] == "too_long" and huge["max_chars"] == 50
    assert pong == {"type": "pong"}  # still open
    assert stored() == NOTHING


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        json.dumps({"type": "nope"}),
        json.dumps({"type": "message"}),
        json.dumps({"type": "message", "text": 42}),
        json.dumps({"type": "message", "text": "hola", "id": "../../etc"}),
        json.dumps({"type": "message", "text": "   "}),
        b"\x00binary",
    ],
)
def test_malformed_frame_gets_bad_frame_and_the_socket_stays_open(widget_a, raw):
    async def scenario():
        comm, _ = await open_socket(widget_a.key)
        if isinstance(raw, bytes):
            await comm.send_to(bytes_data=raw)
        else:
            await comm.send_to(text_data=raw)
        error = await comm.receive_json_from()
        await comm.send_json_to({"type": "ping"})
        pong = await comm.receive_json_from()
        await comm.disconnect()
        return error, pong

    error, pong = run(scenario)
    assert error["type"] == "error" and error["code"] == "bad_frame" and error["message"]
    assert pong == {"type": "pong"}
    assert stored() == NOTHING


# tenant isolation ----------------------------------------------------------------------


def test_another_tenants_widget_never_sees_the_conversation_even_with_its_token(widget_a, widget_b):
    async def scenario():
        comm, ready_a = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": "Presupuesto confidencial A"})
        await frames_until(comm, "message")
        await comm.disconnect()
        await answers_wait()
        other, ready_b = await open_socket(widget_b.key, origin=ORIGIN_B, token=ready_a["token"])
        await other.send_json_to({"type": "message", "text": "Hola desde B", "id": "b1"})
        frames = await frames_until(other, "message")
        await other.disconnect()
        return ready_a, ready_b, frames

    ready_a, ready_b, frames = run(scenario)
    assert ready_b["history"] == []
    assert ready_b["token"].partition(":")[0] != ready_a["token"].partition(":")[0]
    assert ready_b["config"]["title"] == "Bravo Sensors"
    assert "confidencial" not in json.dumps(frames)
    with tenant_scope(widget_b.tenant):
        conversation = Conversation.objects.get()
        assert [m.content for m in conversation.messages.filter(role="user")] == ["Hola desde B"]
    with tenant_scope(widget_a.tenant):
        assert Message.objects.filter(role="user").count() == 1
        assert not Message.objects.filter(content="Hola desde B").exists()


def test_a_token_of_another_widget_of_the_same_tenant_is_a_new_visitor(widget_a, tenant_a):
    second = widget(tenant_a, ORIGIN_A, name="Second site")

    async def scenario():
        comm, first = await open_socket(widget_a.key)
        await comm.disconnect()
        other, ready = await open_socket(second.key, token=first["token"])
        await other.disconnect()
        return first, ready

    first, ready = run(scenario)
    assert ready["token"] != first["token"]


def test_visitor_groups_are_namespaced_by_tenant_account_and_visitor():
    group = visitor_group(tenant_id=1, account_id=2, visitor_id="a/b c:é")
    assert group.startswith("widget.1.2.") and len(group) < 100
    assert all(c.isalnum() or c in "-_." for c in group)
    assert group != visitor_group(tenant_id=3, account_id=2, visitor_id="a/b c:é")
    assert group != visitor_group(tenant_id=1, account_id=4, visitor_id="a/b c:é")


def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parsed = urlparse(url)
    try:
        socket_module.create_connection((parsed.hostname, parsed.port or 6379), timeout=0.5).close()
    except OSError:
        pytest.skip(f"no Redis at {url}")
    return url


def test_a_reply_sent_by_another_process_reaches_the_socket_through_redis(widget_a, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url()], "prefix": f"test-widget-{uuid.uuid4().hex[:8]}"},
        }
    }

    def load_route() -> ConversationRoute:
        with tenant_scope(widget_a.tenant):
            return ConversationRoute.objects.select_related("account").get()

    def worker(route: ConversationRoute, results: list[SendResult]) -> None:
        # Its own thread and event loop (its own Redis connection), as a worker process has.
        results.append(asyncio.run(transport.send_text(route, "Soy Marta, del equipo comercial.")))

    async def scenario():
        comm, _ = await open_socket(widget_a.key)
        await comm.send_json_to({"type": "message", "text": "Quiero hablar con alguien"})
        streamed = await frames_until(comm, "message")
        await answers_wait()
        results: list[SendResult] = []
        thread = threading.Thread(target=worker, args=(await load_route_async(), results))
        thread.start()
        await asyncio.to_thread(thread.join, 10)
        frame = (await frames_until(comm, "message", timeout=5))[-1]
        await comm.disconnect()
        await get_channel_layer().flush()
        return streamed, results, frame

    load_route_async = database_sync_to_async(load_route)
    streamed, results, frame = run(scenario)
    kinds = [(f["type"], f.get("active")) for f in streamed]
    assert kinds[-3:] == [("token", None), ("typing", False), ("message", None)]  # via Redis
    assert results[0].ok and results[0].external_ids[0].startswith("widget-out:")
    assert frame["type"] == "message" and frame["text"] == "Soy Marta, del equipo comercial."


# the demo page -------------------------------------------------------------------------


def test_demo_page_explains_how_to_seed_it_when_there_is_no_widget(client, tenant_a):
    response = client.get("/demo/")
    assert response.status_code == 404
    assert b"make run" in response.content and b"add_channel demo widget" in response.content


def test_demo_page_embeds_the_demo_tenants_first_active_widget(client, settings):
    from django.core.management import call_command

    from tests.factories import TenantFactory

    settings.DEMO_TENANT_SLUG = "shop"
    tenant = TenantFactory(slug="shop", name="Shop Tenant")
    for _ in range(2):  # `make run` runs it on every start: one account, updated
        call_command(
            "add_channel", "shop", "widget", "--name", "Demo widget",
            "--origin", "http://127.0.0.1:8000", "--greeting", "Hola", stdout=io.StringIO(),
        )  # fmt: skip
    with tenant_scope(tenant):
        account = ChannelAccount.objects.get(kind=ChannelAccount.Kind.WIDGET)
    response = client.get("/demo/")
    assert response.status_code == 200
    html = response.content.decode()
    # the tag carries the response's CSP nonce after its key
    assert f'<script src="/static/widget/widget.js" data-key="{account.key}" nonce="' in html
    assert "Shop Tenant" in html
    with tenant_scope(tenant):
        ChannelAccount.objects.filter(pk=account.pk).update(is_active=False)
    assert client.get("/demo/").status_code == 404
