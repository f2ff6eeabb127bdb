"""The sales desk's conversations inbox: the list, the page and its actions (take over,
reply, hand back, close), the rule on who may act, tenant isolation, and the live socket.

Replies go out through the production senders: Telegram to the Bot API server on
127.0.0.1 (tests/fakes/telegram_server.py), run by a real django-tasks-db worker; the
widget to a visitor's WebsocketCommunicator through the real ASGI application."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from channels_app.inbox import Inbound, inbound_store
from channels_app.live import conversation_group
from channels_app.models import ChannelAccount
from channels_app.tasks import conversation_answer_enqueue
from channels_app.widget.consumers import answers_wait
from channels_app.widget.services import visitor_message_store, visitor_token
from config.asgi import application
from crm.models import AuditEntry, Conversation, Message, Platform
from tenants.models import Membership
from tenants.scoping import tenant_scope
from tenants.services import member_ensure
from tests.conftest import PASSWORD
from tests.factories import (
    ChannelAccountFactory,
    CompanyDivisionFactory,
    CompanyFactory,
    ContactFactory,
    ConversationFactory,
    LeadOpportunityFactory,
    MessageFactory,
)
from tests.fakes.telegram_server import FakeTelegram

# Sockets and workers read the database from other threads: committed data, and the
# role groups of the migrations restored for every test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CHAT = 5550123
ORIGIN = "https://shop.alpha.example"
CHANGELIST = reverse("admin:crm_conversation_changelist")
Status = Conversation.Status


@pytest.fixture(autouse=True)
def fresh_layer(settings):
    """A new in-memory channel layer per test (its queues belong to one event loop)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def telegram(settings):
    server = FakeTelegram().start()
    settings.TELEGRAM_API_BASE = server.base_url
    settings.CHANNEL_SEND_BACKOFF = 0.01
    yield server
    server.stop()


@pytest.fixture
def rival(tenant_a):
    """Another sales rep of tenant A."""
    membership, _ = member_ensure(
        tenant=tenant_a,
        email="rival@alpha.example",
        role=Membership.Role.SALES_REP,
        password=PASSWORD,
        full_name="Rita Rival",
    )
    return membership.user


@pytest.fixture
def bot(tenant_a) -> ChannelAccount:
    with tenant_scope(tenant_a):
        return ChannelAccountFactory(tenant=tenant_a, name="Ventas")


_ids = iter(range(1, 10_000))


def customer_says(account: ChannelAccount, text: str, *, address: str = str(CHAT)) -> Message:
    """A customer message through the inbox, as the channel's webhook stores it."""
    inbound = Inbound(
        address=address,
        text=text,
        external_id=f"tg:test:{address}:{next(_ids)}",
        display_name="Ana Gómez",
    )
    with tenant_scope(account.tenant):
        message, created = inbound_store(account=account, inbound=inbound)
        conversation_answer_enqueue(
            tenant_id=account.tenant_id, conversation_id=message.conversation_id
        )
    assert created
    return message


def run_worker() -> None:
    """What a production worker process does: run every queued task, then stop."""
    call_command("worker", "--batch", stdout=io.StringIO())


@pytest.fixture
def chat(bot, telegram) -> Conversation:
    """A Telegram conversation the bot answered once (the customer waits for nothing)."""
    first = customer_says(bot, "Hola, necesito un turbidímetro")
    with tenant_scope(bot.tenant):
        conversation = Conversation.objects.get(pk=first.conversation_id)
        DBTaskResult.objects.all().delete()  # its answer is not this test's business
        Message.objects.filter(pk=first.pk).update(handled_at=timezone.now())
        Message.objects.create(
            tenant=bot.tenant,
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            content="¿Qué rango de NTU necesita?",
            delivery_status=Message.Delivery.SENT,
        )
    return conversation


def url(conversation: Conversation, view: str = "change") -> str:
    return reverse(f"admin:crm_conversation_{view}", args=[conversation.pk])


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def reload(conversation: Conversation) -> Conversation:
    with tenant_scope(conversation.tenant):
        return Conversation.objects.select_related("assigned_rep").get(pk=conversation.pk)


def messages_of(conversation: Conversation, role: str | None = None) -> list[Message]:
    with tenant_scope(conversation.tenant):
        found = Message.objects.filter(conversation_id=conversation.pk).order_by("pk")
        return list(found.filter(role=role) if role else found)


def history(conversation: Conversation) -> list[str]:
    with tenant_scope(conversation.tenant):
        entries = AuditEntry.objects.filter(conversation=conversation).order_by("pk")
        return [e.action for e in entries]


# the list ----------------------------------------------------------------------------


@pytest.fixture
def inbox(tenant_a, tenant_b, owner, teammate, rival):
    now = timezone.now()
    with tenant_scope(tenant_a):
        company = CompanyFactory(tenant=tenant_a, name="Aguas del Valle S.A.")
        division = CompanyDivisionFactory(tenant=tenant_a, company=company, name="Lab Aguas")
        laura = ContactFactory(tenant=tenant_a, full_name="Laura Gómez", division=division)

        def conversation(name: str, hours_ago: float, **fields: Any) -> Conversation:
            contact = (
                laura
                if name == "Laura Gómez"
                else ContactFactory(tenant=tenant_a, full_name=name, division=None)
            )
            return ConversationFactory(
                tenant=tenant_a,
                contact=contact,
                last_activity_at=now - timedelta(hours=hours_ago),
                **fields,
            )

        rows = {
            "closed": conversation(
                "Carlos Cerrado", 0.1, status=Status.CLOSED, closed_at=now, channel="whatsapp"
            ),
            "active": conversation("Ana Activa", 48, channel=Platform.WIDGET),
            "flagged": conversation(
                "Laura Gómez",
                72,
                needs_attention=True,
                attention_reason="fallback answer: the LLM was down",
            ),
            "mine": conversation(
                "Hugo Handoff", 1, status=Status.HANDED_OFF, assigned_rep=teammate
            ),
            "rivals": conversation("Rosa Rival", 2, status=Status.HANDED_OFF, assigned_rep=rival),
        }
        flagged = rows["flagged"]
        for role, text in [
            (Message.Role.USER, "Necesito medir turbidez"),
            (Message.Role.ASSISTANT, "¿En qué rango?"),
            (Message.Role.USER, "0 a 100 NTU"),
            (Message.Role.USER, "¿Tienen el TU-5200 en stock?"),
        ]:
            MessageFactory(tenant=tenant_a, conversation=flagged, role=role, content=text)
        LeadOpportunityFactory(
            tenant=tenant_a,
            contact=laura,
            conversation=flagged,
            problem_statement="Turbidez 0-100 NTU en agua potable",
        )
    with tenant_scope(tenant_b):
        rows["other_tenant"] = ConversationFactory(tenant=tenant_b)
    return rows


def listed(client: Client, query: str = "") -> list[int]:
    response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    return [c.pk for c in response.context["cl"].result_list]


@pytest.mark.parametrize("member", ["owner", "teammate"])
def test_list_puts_flagged_first_then_open_then_closed_by_last_activity(
    client, inbox, member, request
):
    login(client, request.getfixturevalue(member))
    order = ["flagged", "mine", "rivals", "active", "closed"]
    assert listed(client) == [inbox[name].pk for name in order]
    html = client.get(CHANGELIST).content.decode()
    assert "fallback answer: the LLM was down" in html
    assert "Aguas del Valle S.A." in html
    assert "¿Tienen el TU-5200 en stock?" in html  # the last message
    assert inbox["other_tenant"].pk not in listed(client, "?trash=all")


def test_list_counts_each_members_unread_customer_messages(client, inbox, teammate, owner):
    login(client, teammate)
    response = client.get(CHANGELIST)
    counts = {c.pk: c.unread_total for c in response.context["cl"].result_list}
    assert counts[inbox["flagged"].pk] == 3  # never opened: every customer message
    assert counts[inbox["active"].pk] == 0

    assert client.get(url(inbox["flagged"])).status_code == 200  # the teammate reads it
    response = client.get(CHANGELIST)
    counts = {c.pk: c.unread_total for c in response.context["cl"].result_list}
    assert counts[inbox["flagged"].pk] == 0
    with tenant_scope(inbox["flagged"].tenant):
        MessageFactory(
            tenant=inbox["flagged"].tenant,
            conversation=inbox["flagged"],
            role=Message.Role.USER,
            content="¿Hola?",
        )
    response = client.get(CHANGELIST)
    counts = {c.pk: c.unread_total for c in response.context["cl"].result_list}
    assert counts[inbox["flagged"].pk] == 1  # only the one after their visit

    login(client, owner)  # the owner's marks are their own
    response = client.get(CHANGELIST)
    counts = {c.pk: c.unread_total for c in response.context["cl"].result_list}
    assert counts[inbox["flagged"].pk] == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=handed_off", ["mine", "rivals"]),
        ("?status=closed", ["closed"]),
        ("?channel=widget", ["active"]),
        ("?flagged=yes", ["flagged"]),
        ("?assigned=me", ["mine"]),
        ("?assigned=none", ["flagged", "active", "closed"]),
        ("?q=Aguas+del+Valle", ["flagged"]),  # the company
        ("?q=Hugo", ["mine"]),  # the contact
        ("?q=TU-5200", ["flagged"]),  # a message's text
    ],
)
def test_list_filters_and_search(client, inbox, teammate, query, expected):
    login(client, teammate)
    assert listed(client, query) == [inbox[name].pk for name in expected]


def test_page_shows_the_contact_the_company_the_opportunity_and_the_transcript(
    client, inbox, teammate
):
    login(client, teammate)
    response = client.get(url(inbox["flagged"]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Laura Gómez",
        "Aguas del Valle S.A.",
        "Turbidez 0-100 NTU en agua potable",  # the opportunity, linked
        "¿Tienen el TU-5200 en stock?",
        "Customer (Laura Gómez)",
        "fallback answer: the LLM was down",
        'data-ws-path="/ws/desk/conversations/',
        "desk/conversation.js",
    ):
        assert text in html, text
    with tenant_scope(inbox["flagged"].tenant):
        opportunity = inbox["flagged"].opportunities.get()
    assert reverse("admin:crm_leadopportunity_change", args=[opportunity.pk]) in html
    assert 'name="take_over"' in html and 'name="text"' in html


def test_messages_json_gives_the_transcript_rows(client, inbox, teammate):
    login(client, teammate)
    data = client.get(url(inbox["flagged"], "messages")).json()
    assert data["status"] == "active"
    assert [m["text"] for m in data["messages"]][-1] == "¿Tienen el TU-5200 en stock?"
    assert data["messages"][0]["who"] == "Customer (Laura Gómez)"


HOSTILE = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"


def test_what_customers_reps_and_the_crm_wrote_stays_escaped_on_both_pages(
    client, tenant_a, teammate
):
    """The contact card, the flag, the transcript (the conversation's and the
    opportunity's, one renderer), the CRM's metadata: every value escaped."""
    with tenant_scope(tenant_a):
        eve = ContactFactory(
            tenant=tenant_a,
            full_name=f"Eve {HOSTILE}",
            phone_number="<b>600</b>",
            problem_statement=f"Needs {HOSTILE}",
            division=None,
        )
        conversation = ConversationFactory(
            tenant=tenant_a, contact=eve, needs_attention=True, attention_reason=HOSTILE
        )
        MessageFactory(
            tenant=tenant_a,
            conversation=conversation,
            role=Message.Role.USER,
            content=f"Hola {HOSTILE}",
            metadata={"note": HOSTILE},
        )
        MessageFactory(
            tenant=tenant_a,
            conversation=conversation,
            role=Message.Role.AGENT,
            author_name=f"Rita {HOSTILE}",
            content="Le llamo",
            delivery_status=Message.Delivery.FAILED,
            delivery_error=f"131047 {HOSTILE}",
        )
        opportunity = LeadOpportunityFactory(
            tenant=tenant_a, contact=eve, conversation=conversation, problem_statement=HOSTILE
        )
    login(client, teammate)
    opportunity_page = reverse("admin:crm_leadopportunity_change", args=[opportunity.pk])
    pages = {
        page: client.get(page).content.decode()
        for page in (url(conversation), CHANGELIST, opportunity_page)
    }
    for page, html in pages.items():
        assert "<script>alert" not in html and "<b>600</b>" not in html, page
    for page in (url(conversation), opportunity_page):
        html = pages[page]
        assert f"<td>Customer (Eve {ESCAPED})</td>" in html, page
        assert f"<td>Sales rep (Rita {ESCAPED})</td>" in html, page
        assert f'<td class="desk-text">Hola {ESCAPED}</td>' in html, page
        assert f'<br><span class="errornote">131047 {ESCAPED}</span>' in html, page
    assert f"<strong>Eve {ESCAPED}</strong>" in pages[url(conversation)]
    assert f"<em>Needs {ESCAPED}</em>" in pages[url(conversation)]
    assert f'<span class="desk-flag">⚑ {ESCAPED}</span>' in pages[url(conversation)]
    assert f'title="{ESCAPED}"' in pages[CHANGELIST]
    assert f'<td class="desk-text">{ESCAPED}</td>' in pages[opportunity_page]  # metadata


# take over, reply, hand back, close ----------------------------------------------------


def test_take_over_stops_the_bot(client, chat, bot, telegram, teammate):
    login(client, teammate)
    response = client.post(url(chat, "take_over"))
    assert response.status_code == 302
    chat = reload(chat)
    assert (chat.status, chat.assigned_rep) == (Status.HANDED_OFF, teammate)
    assert history(chat) == ["crm.conversation.taken_over"]

    customer_says(bot, "¿Sigue ahí?")
    run_worker()

    assert [m.content for m in messages_of(chat, Message.Role.ASSISTANT)] == [
        "¿Qué rango de NTU necesita?"  # the one from before: no new bot reply
    ]
    assert telegram.sent(CHAT) == []
    waiting = messages_of(chat, Message.Role.USER)[-1]
    assert waiting.content == "¿Sigue ahí?" and waiting.handled_at  # left to the rep


def test_reply_goes_out_on_telegram_with_the_reps_name(client, chat, telegram, teammate):
    teammate.first_name, teammate.last_name = "Marta", "Ruiz"
    teammate.save()
    login(client, teammate)

    response = client.post(url(chat, "reply"), {"text": "Hola Ana, soy Marta. Le llamo hoy."})

    assert response.status_code == 302
    assert response["Location"].endswith("#desk-reply")
    [reply] = messages_of(chat, Message.Role.AGENT)
    assert reply.delivery_status == Message.Delivery.PENDING  # sent after the commit
    assert (reply.author, reply.author_name) == (teammate, "Marta Ruiz")
    chat = reload(chat)  # replying to the bot's conversation took it over
    assert (chat.status, chat.assigned_rep) == (Status.HANDED_OFF, teammate)

    run_worker()

    [send] = telegram.calls("sendMessage", chat_id=CHAT)
    assert send.body == {"chat_id": CHAT, "text": "Hola Ana, soy Marta. Le llamo hoy."}
    [reply] = messages_of(chat, Message.Role.AGENT)
    assert reply.delivery_status == Message.Delivery.SENT and reply.external_id
    page = client.get(url(chat)).content.decode()
    assert "Sales rep (Marta Ruiz)" in page and 'data-delivery="sent"' in page


def test_a_failed_telegram_reply_shows_its_error_and_flags_the_conversation(
    client, chat, telegram, teammate
):
    telegram.block(CHAT)
    login(client, teammate)
    client.post(url(chat, "reply"), {"text": "¿Me confirma su correo?"})
    run_worker()
    [reply] = messages_of(chat, Message.Role.AGENT)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert "blocked" in reply.delivery_error
    assert reload(chat).needs_attention
    page = client.get(url(chat)).content.decode()
    assert "bot was blocked by the user" in page


def test_an_empty_reply_is_refused_and_nothing_stored(client, chat, teammate):
    login(client, teammate)
    response = client.post(url(chat, "reply"), {"text": "   "}, follow=True)
    assert "Write a reply first." in response.content.decode()
    assert messages_of(chat, Message.Role.AGENT) == []
    assert reload(chat).status == Status.ACTIVE
    assert not DBTaskResult.objects.exists()


def test_hand_back_lets_the_bot_answer_again(
    client, chat, bot, telegram, teammate, fake_llm, catalog_index
):
    fake_llm.text("Con gusto: el TU-5200 mide de 0 a 1000 NTU.")
    login(client, teammate)
    client.post(url(chat, "take_over"))
    with tenant_scope(chat.tenant):
        Conversation.objects.filter(pk=chat.pk).update(
            needs_attention=True, attention_reason="handoff requested"
        )

    assert client.post(url(chat, "hand_back")).status_code == 302

    chat = reload(chat)
    assert chat.status == Status.ACTIVE and not chat.needs_attention
    assert chat.assigned_rep == teammate  # the lead is still theirs
    customer_says(bot, "¿Y el rango?")
    run_worker()
    assert telegram.sent(CHAT) == ["Con gusto: el TU-5200 mide de 0 a 1000 NTU."]
    assert history(chat) == ["crm.conversation.taken_over", "crm.conversation.handed_back"]


def test_close(client, chat, teammate):
    login(client, teammate)
    assert client.post(url(chat, "close")).status_code == 302
    chat = reload(chat)
    assert chat.status == Status.CLOSED and chat.closed_at is not None
    assert history(chat) == ["crm.conversation.closed"]
    html = client.get(url(chat)).content.decode()
    assert 'name="close"' not in html and 'name="take_over"' in html


def test_a_rep_cannot_act_on_a_conversation_another_rep_took(
    client, chat, telegram, teammate, rival
):
    login(client, rival)
    client.post(url(chat, "take_over"))
    login(client, teammate)

    page = client.get(url(chat)).content.decode()
    assert 'name="text"' not in page and "Another rep took this conversation over" in page
    for action, data in [
        ("reply", {"text": "Yo me encargo"}),
        ("take_over", {}),
        ("hand_back", {}),
        ("close", {}),
    ]:
        assert client.post(url(chat, action), data).status_code == 403, action

    assert messages_of(chat, Message.Role.AGENT) == []
    chat = reload(chat)
    assert (chat.status, chat.assigned_rep) == (Status.HANDED_OFF, rival)
    assert not DBTaskResult.objects.exists()
    run_worker()
    assert telegram.calls("sendMessage") == []


def test_a_tenant_admin_may_reply_to_a_reps_conversation(client, chat, owner, rival):
    login(client, rival)
    client.post(url(chat, "take_over"))
    login(client, owner)
    assert client.post(url(chat, "reply"), {"text": "Soy la gerente."}).status_code == 302
    [reply] = messages_of(chat, Message.Role.AGENT)
    assert reply.author == owner
    assert reload(chat).assigned_rep == rival  # still the rep's conversation


def test_a_tenant_admin_assigns_in_the_form_a_rep_cannot(client, chat, owner, teammate, rival):
    login(client, owner)
    form = {"assigned_rep": rival.pk, "intent_category": "sales", "summary": "Pide TU-5200"}
    assert client.post(url(chat), form).status_code == 302
    chat = reload(chat)
    assert (chat.assigned_rep, chat.summary, chat.status) == (rival, "Pide TU-5200", Status.ACTIVE)
    assert "crm.conversation.assigned" in history(chat)

    login(client, teammate)
    assert client.post(url(chat), {**form, "assigned_rep": teammate.pk}).status_code == 302
    assert reload(chat).assigned_rep == rival  # read-only for reps: they take over instead


def test_actions_need_post_and_a_csrf_token(chat, teammate):
    client = login(Client(enforce_csrf_checks=True), teammate)
    assert client.get(url(chat, "take_over")).status_code == 405
    assert client.post(url(chat, "take_over")).status_code == 403  # no token
    assert client.post(url(chat, "reply"), {"text": "hola"}).status_code == 403
    assert reload(chat).status == Status.ACTIVE
    assert messages_of(chat, Message.Role.AGENT) == []


VIEWS = ["change", "take_over", "reply", "hand_back", "close", "messages", "history", "delete"]


@pytest.mark.parametrize("view", VIEWS)
def test_outsider_gets_404_on_every_conversation_url_and_action(
    client, chat, outsider, telegram, view
):
    login(client, outsider)
    before = reload(chat)
    assert client.get(url(chat, view)).status_code == 404
    assert client.post(url(chat, view), {"text": "intruso", "post": "yes"}).status_code == 404
    after = reload(chat)
    assert (after.status, after.assigned_rep_id, after.updated_at, after.is_deleted) == (
        before.status,
        before.assigned_rep_id,
        before.updated_at,
        False,
    )
    assert messages_of(chat, Message.Role.AGENT) == []


# the widget ----------------------------------------------------------------------------


@pytest.fixture
def widget_a(tenant_a) -> ChannelAccount:
    with tenant_scope(tenant_a):
        return ChannelAccount.objects.create(
            tenant=tenant_a,
            kind=ChannelAccount.Kind.WIDGET,
            name="Web",
            allowed_origins=ORIGIN,
        )


@pytest.fixture
def immediate_tasks(settings):
    """Tasks run as they are enqueued (after the commit), in the thread that enqueues them."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    async def whole() -> Any:
        try:
            return await scenario()
        finally:
            await answers_wait()

    return async_to_sync(whole)()


def visitor_socket(account: ChannelAccount, visitor_id: str) -> WebsocketCommunicator:
    token = visitor_token(account=account, visitor_id=visitor_id)
    return WebsocketCommunicator(
        application,
        f"/ws/widget/{account.key}/?token={quote(token)}",
        headers=[(b"origin", ORIGIN.encode())],
    )


def widget_chat(account: ChannelAccount, visitor_id: str) -> Conversation:
    conversation_id, _ = visitor_message_store(
        account=account, visitor_id=visitor_id, text="¿Alguien me atiende?", client_id="c1"
    )
    with tenant_scope(account.tenant):
        return Conversation.objects.get(pk=conversation_id)


def test_a_reply_reaches_the_connected_widget_visitor(client, widget_a, teammate, immediate_tasks):
    conversation = widget_chat(widget_a, "visitor-1")
    login(client, teammate)

    async def scenario():
        comm = visitor_socket(widget_a, "visitor-1")
        connected, _ = await comm.connect()
        assert connected
        ready = await comm.receive_json_from()
        response = await database_sync_to_async(client.post)(
            url(conversation, "reply"), {"text": "Hola, soy Marta de ventas."}
        )
        joined = await comm.receive_json_from(timeout=5)  # the reply took it over
        frame = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return ready, response, joined, frame

    ready, response, joined, frame = run(scenario)
    assert [h["text"] for h in ready["history"]] == ["¿Alguien me atiende?"]
    assert response.status_code == 302
    assert joined["type"] == "advisor" and joined["name"]
    assert frame["type"] == "message" and frame["text"] == "Hola, soy Marta de ventas."
    assert frame["role"] == "agent"  # shown as the rep, not as the bot
    assert frame["author"] == joined["name"]  # with the rep's first name
    [reply] = messages_of(conversation, Message.Role.AGENT)
    assert reply.delivery_status == Message.Delivery.SENT


def test_a_reply_to_an_absent_widget_visitor_is_in_the_history_on_return(
    client, widget_a, teammate, immediate_tasks
):
    conversation = widget_chat(widget_a, "visitor-2")
    login(client, teammate)
    client.post(url(conversation, "reply"), {"text": "Le escribo cuando vuelva."})

    async def scenario():
        comm = visitor_socket(widget_a, "visitor-2")
        connected, _ = await comm.connect()
        assert connected
        ready = await comm.receive_json_from()
        await comm.disconnect()
        return ready

    ready = run(scenario)
    assert [(h["role"], h["text"]) for h in ready["history"]] == [
        ("user", "¿Alguien me atiende?"),
        ("agent", "Le escribo cuando vuelva."),
    ]


# the live socket -----------------------------------------------------------------------


def desk_socket(
    conversation: Conversation, client: Client | None = None, origin: str = "http://localhost"
) -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode())]
    if client is not None:
        session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session}".encode()))
    return WebsocketCommunicator(
        application, f"/ws/desk/conversations/{conversation.pk}/", headers=headers
    )


def test_the_live_socket_gets_a_new_customer_message(client, chat, bot, teammate):
    login(client, teammate)
    client.post(url(chat, "take_over"))

    async def scenario():
        comm = desk_socket(chat, client)
        connected, _ = await comm.connect()
        assert connected
        await database_sync_to_async(customer_says)(bot, "Necesito la cotización <b>hoy</b>")
        frame = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return frame

    frame = run(scenario)
    assert frame["type"] == "message"
    row = frame["message"]
    assert row["text"] == "Necesito la cotización <b>hoy</b>"  # raw text: the script escapes
    assert row["role"] == "user" and row["who"] == "Customer (Ana Gómez)"
    assert row["id"] == messages_of(chat, Message.Role.USER)[-1].pk


def test_another_conversations_message_does_not_reach_the_socket(client, chat, bot, teammate):
    login(client, teammate)

    async def scenario():
        comm = desk_socket(chat, client)
        connected, _ = await comm.connect()
        assert connected
        await database_sync_to_async(customer_says)(bot, "Otro cliente", address="777")
        nothing = await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()
        return nothing

    assert run(scenario) is True


@pytest.mark.parametrize("who", ["anonymous", "outsider", "bad_origin", "no_permission"])
def test_the_live_socket_refuses_who_may_not_watch(client, chat, who, request, teammate):
    if who == "outsider":
        login(client, request.getfixturevalue("outsider"))
    elif who in ("bad_origin", "no_permission"):
        login(client, teammate)
    if who == "no_permission":
        teammate.groups.clear()
    origin = "https://evil.example" if who == "bad_origin" else "http://localhost"

    async def scenario():
        comm = desk_socket(chat, None if who == "anonymous" else client, origin=origin)
        connected, _ = await comm.connect()
        await comm.disconnect()
        return connected

    assert run(scenario) is False


def test_group_names_are_namespaced_by_tenant_and_conversation():
    group = conversation_group(tenant_id=1, conversation_id=2)
    assert group != conversation_group(tenant_id=3, conversation_id=2)
    assert all(c.isalnum() or c in "-_." for c in group) and len(group) < 100
