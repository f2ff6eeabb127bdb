"""Property-based tests of every inbound edge (issue 13), with hypothesis: arbitrary JSON
and arbitrary strings (lone surrogates, NUL, astral characters, integers past 4,300
digits, ``1e999``/``NaN``, nesting thousands deep, bytes that are not UTF-8) posted to
the Telegram webhook, the WhatsApp webhook (signed), the CRM API (with a valid key) and
sent to the widget's socket.

The properties: never a 5xx (the socket never fails, and answers every frame); a 200
stores every message it counts, with each string as ``channels_app.text`` makes it (no
surrogate, no NUL); anything else stores nothing (nothing half-stored).

Examples are few (``max_examples`` per edge) and derandomized, so the suite stays fast
and CI cannot flake; no example database is kept.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from channels_app.models import ChannelAccount, InboundEvent
from channels_app.telegram.transport import bot_id
from channels_app.text import text_clean
from channels_app.widget.consumers import answers_wait
from crm.models import Message
from tenants.scoping import scopes_disabled, tenant_scope
from tests import edges
from tests.edges import TELEGRAM_SECRET_HEADER as SECRET_HEADER
from tests.edges import post
from tests.fakes import whatsapp_server as wa
from tests.fakes.openai_server import Action, FakeLLM

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 60
examples = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ORIGIN = "https://shop.alpha.example"
UNSTORABLE = ("\x00", *(chr(c) for c in range(0xD800, 0xE000)))
_serial = itertools.count(1)


# Strategies -----------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Raw:
    """JSON text written as is: what ``json.dumps`` cannot produce."""

    text: str

    def __repr__(self) -> str:
        return f"Raw({self.text[:12]!r}…{len(self.text)} chars)"


RAW = st.sampled_from(
    [
        Raw("9" * 5000),  # past Python's 4,300 digits
        Raw("-" + "1" * 4301),
        Raw("1" + "0" * 400),  # big, but an int Python reads
        Raw("1e999"),
        Raw("-1e999"),
        Raw("NaN"),
        Raw("Infinity"),
        Raw("1e-400"),
        Raw("[" * 3000 + "]" * 3000),  # deeper than the parser goes
        Raw('{"a":' * 200 + "1" + "}" * 200),
        Raw('"\\ud800\\udc00"'),  # a pair: one code point
        Raw('"\\udc00\\ud800"'),  # two lone halves
    ]
)
SPECIAL = st.sampled_from(
    ["\ud800", "\udbff", "\udc00", "\udfff", "\x00", "\ufffd", "\u2028", "\U0001f600", " "]
)
# Any code point, surrogates included (hypothesis leaves them out by default).
TEXT = st.lists(
    st.one_of(st.characters(exclude_categories=()), SPECIAL), min_size=0, max_size=24
).map("".join)
# For what a schema trims: no whitespace at either end.
INNER = TEXT.map(lambda text: f"a{text}z")
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
# JSON with raw specials in its leaves, somewhere.
HOSTILE_JSON = st.recursive(
    st.one_of(SCALARS, RAW),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
# How the document travels: \u escapes only, or raw UTF-8 (a surrogate then becomes
# bytes that are not UTF-8).
ASCII = st.booleans()


def encode(value: Any, ascii_only: bool) -> bytes:
    def text(item: Any) -> str:
        if isinstance(item, Raw):
            return item.text
        if isinstance(item, list):
            return "[" + ",".join(text(v) for v in item) + "]"
        if isinstance(item, dict):
            return "{" + ",".join(f"{key(k)}:{text(v)}" for k, v in item.items()) + "}"
        return json.dumps(item, ensure_ascii=ascii_only)

    def key(item: str) -> str:
        return json.dumps(item, ensure_ascii=ascii_only)

    return text(value).encode("utf-8", "surrogatepass")


def as_stored(value: str, ascii_only: bool) -> str:
    """What the edge must store of ``value`` sent as :func:`encode` sends it."""
    if ascii_only:  # \u escapes: a high and a low surrogate in a row are one code point
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    else:  # a surrogate travelled as bytes that are not UTF-8
        value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text_clean(value)


def extras() -> st.SearchStrategy[dict[str, Any]]:
    """Fields the edge does not read, now and then: anything, raw specials included."""
    fields = st.dictionaries(TEXT.map(lambda k: f"x-{k}"), HOSTILE_JSON, min_size=1, max_size=2)
    return st.integers(0, 3).flatmap(lambda n: fields if n == 0 else st.just({}))


def has_raw(value: Any) -> bool:
    """Whether ``value`` holds a :class:`Raw` anywhere (a document the edge may refuse)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Raw):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def storable(*values: str) -> bool:
    return not any(bad in value for value in values for bad in UNSTORABLE)


def events() -> dict[str, InboundEvent]:
    with scopes_disabled():
        return {e.external_id: e for e in InboundEvent.all_objects.all()}


def user_messages() -> dict[str, Message]:
    with scopes_disabled():
        return {m.external_id: m for m in Message.all_objects.filter(role=Message.Role.USER)}


def assert_error_format(response: Any) -> None:
    body = response.json()
    if response.headers.get("Content-Type") == "application/problem+json":  # REST API errors
        assert body["status"] == response.status_code and isinstance(body["detail"], str), body
        return
    assert body["ok"] is False and isinstance(body["error"], str), body


# Telegram ---------------------------------------------------------------------------------


@pytest.fixture
def bot(tenant_a) -> ChannelAccount:
    return edges.telegram_bot(tenant_a)


@st.composite
def telegram_updates(draw: st.DrawFn) -> tuple[Any, bool, dict[str, Any] | None]:
    """(document, ascii_only, the message when the document is a private text message)."""
    ascii_only = draw(ASCII)
    if draw(st.integers(0, 3)) == 0:
        return draw(HOSTILE_JSON), ascii_only, None
    chat = draw(st.one_of(st.integers(1, 2**52), st.integers(), st.just(10**30)))
    message = {
        "message_id": next(_serial),
        "date": draw(st.integers(0, 2**31)),
        "chat": {"id": chat, "type": "private", "first_name": draw(TEXT)},
        "from": {
            "id": chat,
            "is_bot": False,
            "first_name": draw(TEXT),
            "last_name": draw(TEXT),
            "language_code": draw(TEXT),
        },
        "text": draw(TEXT),
        **draw(extras()),
    }
    update = {"update_id": draw(st.integers(0, 2**40)), "message": message, **draw(extras())}
    return update, ascii_only, message


@examples
@given(case=telegram_updates(), lean=st.booleans())
def test_telegram_webhook_never_5xx_and_a_200_stores_its_message(bot, case, lean):
    document, ascii_only, message = case
    before = events()

    response = post(
        bot.webhook_path(),
        encode(document, ascii_only),
        {SECRET_HEADER: bot.webhook_secret},
        lean=lean,
    )

    assert response.status_code < 500, response.content
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics
    after = events()
    new = {k: v for k, v in after.items() if k not in before}
    if message is not None and not has_raw(document) and -(2**63) <= message["chat"]["id"] < 2**63:
        # A private text message, whatever its strings hold, is never refused nor lost.
        assert response.status_code == 200, response.content
        assert "ignored" not in response.json()
    if response.status_code != 200 or "ignored" in response.json():
        if response.status_code != 200:
            assert_error_format(response)
        assert not new, "nothing is stored unless the message is"
        return
    assert message is not None
    external_id = f"tg:{bot_id(bot)}:{message['chat']['id']}:{message['message_id']}"
    assert set(new) == {external_id}
    row = new[external_id]
    assert row.text == as_stored(message["text"], ascii_only)
    assert storable(row.text, row.display_name, row.language, row.address)


# WhatsApp ---------------------------------------------------------------------------------


@pytest.fixture
def whatsapp(tenant_a) -> ChannelAccount:
    return edges.whatsapp_account(tenant_a)


@st.composite
def whatsapp_notifications(draw: st.DrawFn) -> tuple[Any, bool, list[tuple[str, str]]]:
    """(document, ascii_only, [(wamid, body)] of its text messages when it is shaped)."""
    ascii_only = draw(ASCII)
    if draw(st.integers(0, 3)) == 0:
        return draw(HOSTILE_JSON), ascii_only, []
    sent: list[tuple[str, str]] = []
    contacts, messages = [], []
    for _ in range(draw(st.integers(1, 4))):
        sender = f"57300{next(_serial):07d}"
        wamid = f"wamid.{next(_serial)}.{draw(INNER)}"
        body = draw(TEXT)
        contacts.append({"profile": {"name": draw(TEXT)}, "wa_id": sender, **draw(extras())})
        messages.append(
            {
                "from": sender,
                "id": wamid,
                "timestamp": draw(TEXT),
                "type": "text",
                "text": {"body": body},
                **draw(extras()),
            }
        )
        sent.append((wamid, body))
    document = wa.notification("106540352242922", contacts=contacts, messages=messages)
    document.update(draw(extras()))
    return document, ascii_only, sent


@examples
@given(case=whatsapp_notifications(), lean=st.booleans())
def test_whatsapp_webhook_never_5xx_and_a_200_stores_every_message(whatsapp, case, lean):
    document, ascii_only, sent = case
    raw = encode(document, ascii_only)
    before = events()

    response = post(whatsapp.webhook_path(), raw, wa.signed(raw, whatsapp.app_secret)[1], lean=lean)

    assert response.status_code < 500, response.content
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics
    new = {k: v for k, v in events().items() if k not in before}
    if sent and not has_raw(document):
        # Text messages, whatever their strings hold, are never refused nor lost.
        assert response.status_code == 200, response.content
    if response.status_code != 200:
        assert_error_format(response)
        assert not new, "a refused notification stores nothing"
        return
    counts = response.json()
    assert counts["stored"] == len(new)
    for row in new.values():
        assert storable(row.text, row.display_name, row.external_id, row.address)
    assert counts["stored"] == len(sent) and counts["duplicates"] == counts["ignored"] == 0
    for wamid, body in sent:  # every message of the notification is stored, as it was sent
        row = new["wa:" + as_stored(wamid, ascii_only)]
        expected = as_stored(body, ascii_only)
        assert row.text == (expected if expected.strip() else "[text]")


# The CRM API ------------------------------------------------------------------------------


@pytest.fixture
def api_key(tenant_a, settings) -> Any:
    llm = FakeLLM(default=lambda body: Action("text", content="Con gusto.")).start()
    settings.LLM_BASE_URL, settings.LLM_API_KEY = llm.base_url, "test-key"
    yield edges.api_key(tenant_a)
    llm.stop()


@st.composite
def api_messages(draw: st.DrawFn) -> tuple[Any, bool, dict[str, Any] | None]:
    """(document, ascii_only, the message when the document is shaped as one)."""
    ascii_only = draw(ASCII)
    if draw(st.integers(0, 3)) == 0:
        return draw(HOSTILE_JSON), ascii_only, None
    message: dict[str, Any] = {
        "contact": {
            "crm_contact_id": draw(INNER.map(lambda t: t[:100])),
            "full_name": draw(INNER),
        },
        "text": draw(INNER),
        "external_id": f"{next(_serial)}-{draw(INNER)}",
        "metadata": draw(st.dictionaries(TEXT, st.one_of(JSON, RAW), max_size=3)),
    }
    return message, ascii_only, message


@examples
@given(case=api_messages())
def test_crm_api_never_5xx_and_a_200_stores_the_message(api_key, case):
    document, ascii_only, message = case
    before = user_messages()

    response = post(
        "/api/v1/messages",
        encode(document, ascii_only),
        {"Authorization": f"Bearer {api_key}"},
        lean=False,
    )

    assert response.status_code < 500, response.content
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics
    new = {k: v for k, v in user_messages().items() if k not in before}
    if message is not None and not has_raw(document) and depth(message["metadata"]) <= 8:
        # A valid message, whatever its strings hold, is never refused nor lost.
        assert response.status_code in (200, 202), response.content
    if response.status_code not in (200, 202):
        assert_error_format(response)
        assert not new, "a refused request stores nothing"
        return
    assert message is not None
    [stored] = new.values()
    assert stored.pk == response.json()["message_id"]
    assert stored.content == as_stored(message["text"], ascii_only)
    assert stored.external_id.endswith(":" + as_stored(message["external_id"], ascii_only))
    assert storable(stored.content, json.dumps(stored.metadata, ensure_ascii=False))


# The widget's socket ----------------------------------------------------------------------


@pytest.fixture
def widget(tenant_a, settings) -> Any:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.WIDGET_RATE_LIMIT = "1000/60"
    llm = FakeLLM(default=lambda body: Action("text", content="Con gusto.")).start()
    settings.LLM_BASE_URL, settings.LLM_API_KEY = llm.base_url, "test-key"
    with tenant_scope(tenant_a):
        account = ChannelAccount.objects.create(
            tenant=tenant_a, kind=ChannelAccount.Kind.WIDGET, name="Web", allowed_origins=ORIGIN
        )
    yield account
    llm.stop()


@st.composite
def widget_frames(draw: st.DrawFn) -> tuple[Any, str | None]:
    """(the frame, the text when it is a message frame)."""
    if draw(st.integers(0, 3)) == 0:
        return draw(HOSTILE_JSON), None
    text = draw(TEXT)
    return {"type": "message", "text": text, "id": f"c{next(_serial)}", **draw(extras())}, text


@examples
@given(case=widget_frames())
def test_widget_socket_answers_every_frame_and_an_ack_stores_the_message(widget, case):
    document, text = case
    frame = encode(document, True).decode()
    from config.asgi import application

    async def scenario() -> dict[str, Any]:
        comm = WebsocketCommunicator(
            application, f"/ws/widget/{widget.key}/", headers=[(b"origin", ORIGIN.encode())]
        )
        connected, _ = await comm.connect()
        assert connected
        assert (await comm.receive_json_from())["type"] == "ready"
        await comm.send_to(text_data=frame)
        answer = await comm.receive_json_from(timeout=10)  # raises if the consumer failed
        await comm.send_json_to({"type": "ping"})  # and the socket is still open
        while (await comm.receive_json_from(timeout=10))["type"] != "pong":
            pass
        await comm.disconnect()
        assert await answers_wait(timeout=15)
        return answer

    before = user_messages()
    answer = async_to_sync(scenario)()
    new = {k: v for k, v in user_messages().items() if k not in before}

    assert answer["type"] in ("ack", "error"), answer
    if text is not None and not has_raw(document) and as_stored(text, True).strip():
        assert answer["type"] == "ack", answer  # never refused nor lost
    event(f"frame {answer['type']}")  # --hypothesis-show-statistics
    if answer["type"] == "error":
        assert not new
        return
    assert text is not None
    [stored] = new.values()
    assert stored.content == as_stored(text, True).strip()
    assert storable(stored.content)
