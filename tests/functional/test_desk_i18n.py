"""The desk speaks the member's language: their own (``Membership.language``), else their
tenant's (``Tenant.default_language``, Spanish by default); the sign-in page follows
``Accept-Language``, else ``LANGUAGE_CODE`` (Spanish). A member changes theirs on
``admin/language/``; the conversation page's live socket speaks it too.

Tests elsewhere read the desk in English (their members are English, see tests/conftest.py,
and config/settings_test.py sets LANGUAGE_CODE to "en"); here the tenant is Spanish.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from channels_app.live import conversation_group
from config.asgi import application
from crm.models import Conversation, LeadOpportunity, Message, Platform
from tenants.models import Membership, Tenant
from tenants.scoping import tenant_scope
from tenants.services import member_ensure
from tests.conftest import PASSWORD
from tests.factories import (
    ContactFactory,
    ConversationFactory,
    LeadOpportunityFactory,
    MessageFactory,
    TenantFactory,
)

INDEX = reverse("admin:index")
LANGUAGE = reverse("admin:language")
LOGIN = reverse("admin:login")
CONVERSATIONS = reverse("admin:crm_conversation_changelist")
OPPORTUNITIES = reverse("admin:crm_leadopportunity_changelist")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hidrolab(db) -> Tenant:
    """A Spanish-speaking tenant (the default language)."""
    return TenantFactory(slug="hidrolab", name="Hidrolab", default_language="es")


def _member(tenant: Tenant, email: str, *, language: str = "") -> Membership:
    membership, _ = member_ensure(
        tenant=tenant, email=email, role=Membership.Role.SALES_REP, password=PASSWORD
    )
    with tenant_scope(tenant):
        Membership.objects.filter(pk=membership.pk).update(language=language)
        membership.refresh_from_db()
    return membership


@pytest.fixture
def rep_es(hidrolab) -> Membership:
    """A rep who follows the tenant's language."""
    return _member(hidrolab, "lucia@hidrolab.example")


@pytest.fixture
def rep_en(hidrolab) -> Membership:
    """A rep of the same tenant who reads the desk in English."""
    return _member(hidrolab, "john@hidrolab.example", language="en")


@pytest.fixture
def deal(hidrolab) -> tuple[Conversation, LeadOpportunity]:
    with tenant_scope(hidrolab):
        contact = ContactFactory(tenant=hidrolab, full_name="Ana Gómez")
        conversation = ConversationFactory(
            tenant=hidrolab,
            contact=contact,
            channel=Platform.TELEGRAM,
            needs_attention=True,
            attention_reason="El cliente pidió hablar con una persona.",
        )
        MessageFactory(
            tenant=hidrolab,
            conversation=conversation,
            role=Message.Role.USER,
            content="Necesito un turbidímetro",
        )
        opportunity = LeadOpportunityFactory(
            tenant=hidrolab,
            contact=contact,
            conversation=conversation,
            problem_statement="Turbidez en agua potable, 0-1000 NTU",
        )
    return conversation, opportunity


def signed_in(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_a_spanish_tenants_rep_reads_the_desk_in_spanish(rep_es, deal):
    conversation, opportunity = deal
    client = signed_in(rep_es)

    index = page(client, INDEX)
    assert '<html lang="es"' in index
    assert "Hidrolab · Mesa comercial" in index  # the header
    assert "Conversaciones por canal" in index and "Productos más recomendados" in index
    assert "Mediana de primera respuesta" in index  # a dashboard card
    assert "últimos 30 días" in index or "últimos 7 días" in index
    assert "Idioma (español)" in index  # the user tools' language link
    assert "Conversations by channel" not in index

    inbox = page(client, CONVERSATIONS)
    assert "Conversaciones" in inbox and "comercial asignado" in inbox.lower()
    assert "Marcadas" in inbox  # the flag filter
    assert "Assigned to me" not in inbox

    chat = page(client, reverse("admin:crm_conversation_change", args=[conversation.pk]))
    assert 'value="Tomar el control"' in chat and 'value="Responder"' in chat
    assert "Cliente (Ana Gómez)" in chat  # the transcript
    assert "Historial de cambios" in chat
    assert "Take over" not in chat

    deal_page = page(client, reverse("admin:crm_leadopportunity_change", args=[opportunity.pk]))
    assert "Necesidad" in deal_page and "Próximo paso" in deal_page
    assert "Oportunidades" in page(client, OPPORTUNITIES)


def test_an_english_member_of_the_same_tenant_reads_english(rep_en, rep_es, deal):
    conversation, opportunity = deal
    client = signed_in(rep_en)

    index = page(client, INDEX)
    assert '<html lang="en"' in index
    assert "Hidrolab · Sales desk" in index and "Conversations by channel" in index
    assert "Mesa comercial" not in index

    chat = page(client, reverse("admin:crm_conversation_change", args=[conversation.pk]))
    assert 'value="Take over"' in chat and "Customer (Ana Gómez)" in chat
    assert "Tomar el control" not in chat
    deal_page = page(client, reverse("admin:crm_leadopportunity_change", args=[opportunity.pk]))
    assert "Next step" in deal_page and "Próximo paso" not in deal_page


def test_an_english_tenant_speaks_english_to_members_who_follow_it(db):
    tenant = TenantFactory(slug="acme", name="Acme", default_language="en")
    member = _member(tenant, "rep@acme.example")
    assert "Acme · Sales desk" in page(signed_in(member), INDEX)


def test_choosing_a_language_is_kept_on_the_membership(rep_es):
    client = signed_in(rep_es)
    form = page(client, f"{LANGUAGE}?next={CONVERSATIONS}")
    assert "El idioma de la organización (Español)" in form
    assert f'name="next" value="{CONVERSATIONS}"' in form

    response = client.post(LANGUAGE, {"language": "en", "next": CONVERSATIONS})
    assert response.status_code == 302 and response["Location"] == CONVERSATIONS
    rep_es.refresh_from_db()
    assert rep_es.language == "en"
    after = client.get(CONVERSATIONS, follow=False).content.decode()
    assert "Your language was saved." in after and "Assigned to me" in after

    # A new session (another browser) reads the member's choice too.
    assert "Sales desk" in page(signed_in(rep_es), INDEX)

    # Blank follows the tenant again.
    client.post(LANGUAGE, {"language": "", "next": INDEX})
    rep_es.refresh_from_db()
    assert rep_es.language == ""
    assert "Mesa comercial" in page(client, INDEX)


def test_a_language_the_desk_does_not_offer_is_refused(rep_es):
    client = signed_in(rep_es)
    response = client.post(LANGUAGE, {"language": "xx", "next": INDEX})
    assert response.status_code == 400
    assert "xx" in response.content.decode()  # the form says which choice is not valid
    rep_es.refresh_from_db()
    assert rep_es.language == ""


def test_the_language_page_never_sends_elsewhere(rep_es):
    client = signed_in(rep_es)
    response = client.post(LANGUAGE, {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == INDEX


def test_the_language_page_is_for_signed_in_staff(client, rep_es):
    response = client.post(LANGUAGE, {"language": "en"})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    rep_es.refresh_from_db()
    assert rep_es.language == ""


def test_an_operator_chooses_with_the_language_cookie(operator, settings):
    settings.LANGUAGE_CODE = "es"
    client = signed_in_operator = Client()
    signed_in_operator.force_login(operator)
    assert "Mesa comercial" in page(client, INDEX)
    response = client.post(LANGUAGE, {"language": "en", "next": INDEX})
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Sales desk" in page(client, INDEX)


def test_the_sign_in_page_follows_accept_language(client, settings):
    settings.LANGUAGE_CODE = "es"
    english = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="en"' in english and "Log in" in english
    spanish = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="es-CO,es;q=0.9").content.decode()
    assert '<html lang="es"' in spanish and "Iniciar sesión" in spanish
    default = client.get(LOGIN).content.decode()  # no header: LANGUAGE_CODE
    assert '<html lang="es"' in default and "Iniciar sesión" in default


def test_the_default_language_is_spanish():
    """config.settings with no LANGUAGE_CODE in the environment (tests set "en")."""
    env = {k: v for k, v in os.environ.items() if k != "LANGUAGE_CODE"}
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings")
    code = "from django.conf import settings; print(settings.LANGUAGE_CODE, settings.LANGUAGES)"
    out = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("es [('es', 'Español'), ('en', 'English')")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_live_socket_speaks_the_members_language(settings, rep_es, rep_en, deal):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    conversation, _ = deal
    with tenant_scope(conversation.tenant):
        message = MessageFactory(
            tenant=conversation.tenant,
            conversation=conversation,
            role=Message.Role.USER,
            content="¿Tienen stock?",
        )
    group = conversation_group(tenant_id=conversation.tenant_id, conversation_id=conversation.pk)

    def socket(membership: Membership) -> WebsocketCommunicator:
        client = signed_in(membership)
        cookie = django_settings.SESSION_COOKIE_NAME
        headers = [
            (b"origin", b"http://localhost"),
            (b"cookie", f"{cookie}={client.cookies[cookie].value}".encode()),
        ]
        return WebsocketCommunicator(
            application, f"/ws/desk/conversations/{conversation.pk}/", headers=headers
        )

    sockets = [socket(rep_es), socket(rep_en)]

    async def scenario() -> list[dict]:
        for comm in sockets:
            connected, _ = await comm.connect()
            assert connected
        await get_channel_layer().group_send(
            group, {"type": "conversation.message", "message_id": message.pk}
        )
        frames = [await comm.receive_json_from(timeout=5) for comm in sockets]
        for comm in sockets:
            await comm.disconnect()
        return frames

    spanish, english = async_to_sync(scenario)()
    assert spanish["message"]["who"] == "Cliente (Ana Gómez)"
    assert spanish["message"]["channel"] == "Telegram"
    assert english["message"]["who"] == "Customer (Ana Gómez)"


def test_a_new_members_invitation_speaks_the_tenants_language(
    hidrolab, mailoutbox, django_capture_on_commit_callbacks
):
    from tenants.services import member_invite

    with django_capture_on_commit_callbacks(execute=True):
        membership, _ = member_ensure(
            tenant=hidrolab, email="nuevo@hidrolab.example", role=Membership.Role.SALES_REP
        )
        link = member_invite(membership=membership)
    [email] = mailoutbox
    assert email.subject == "Su cuenta en la mesa comercial de Hidrolab"
    assert "como asesor comercial" in email.body and "Elija su contraseña aquí" in email.body
    assert link in email.body
