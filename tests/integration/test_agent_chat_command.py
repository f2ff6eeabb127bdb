"""`chat`: a terminal REPL against the real agent, with and without an LLM key."""

from __future__ import annotations

import io
import logging

import pytest
from django.core.management import CommandError, call_command

from crm.models import Conversation, Message, Platform
from tenants.scoping import tenant_scope
from tests.factories import ContactFactory
from tests.factories.catalog import CATALOG, load

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(tenant_a, catalog_index):
    load(tenant_a, CATALOG)
    return tenant_a


def chat(monkeypatch, *args, lines):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    out, err = io.StringIO(), io.StringIO()
    call_command("chat", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_chat_without_a_key_answers_from_the_catalog(shop, monkeypatch, settings):
    settings.LLM_API_KEY = ""
    out, err = chat(monkeypatch, shop.slug, lines=["Necesito medir turbidez", "/quit"])
    assert "bot> Gracias por su mensaje" in out and "HL-TUR-5200" in out  # usted: the default
    assert "[fallback: no LLM API key configured" in err
    with tenant_scope(shop):
        conversation = Conversation.objects.get()
        assert conversation.contact.platform == Platform.CONSOLE
        assert conversation.needs_attention


def test_chat_keeps_the_servers_info_lines_out_of_the_conversation(
    shop, monkeypatch, settings, caplog
):
    """Issue 14: turn and fallback INFO lines interleaved with the bot's reply."""
    settings.LLM_API_KEY = ""
    chat(monkeypatch, shop.slug, lines=["Necesito medir turbidez", "/quit"])
    assert [r.getMessage() for r in caplog.records if r.levelno < logging.WARNING] == []
    assert logging.getLogger().level == logging.INFO  # restored afterwards
    chat(monkeypatch, shop.slug, "-v", "2", lines=["Necesito medir pH", "/quit"])
    assert any("fallback" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_chat_with_a_server_streams_the_reply_and_passes_metadata(shop, monkeypatch, fake_llm):
    fake_llm.text("Hola, ¿qué rango de turbidez necesita?")
    fake_llm.text("Perfecto.")
    with tenant_scope(shop):
        contact = ContactFactory(tenant=shop, platform=Platform.WHATSAPP, full_name="Ana Prieto")
    out, err = chat(
        monkeypatch,
        shop.slug,
        "--contact",
        str(contact.pk),
        "--metadata",
        '{"segment": "VIP customer"}',
        lines=["Hola, busco un turbidímetro", "/new", "0 a 100 NTU"],
    )
    assert "bot> Hola, ¿qué rango de turbidez necesita?" in out
    assert "bot> Perfecto." in out
    assert "[llm: 1 call(s), 150 tokens]" in err
    assert all(r.body["stream"] for r in fake_llm.requests)
    assert "segment: VIP customer" in fake_llm.requests[0].system_prompt
    assert "Ana Prieto" in fake_llm.requests[0].system_prompt
    with tenant_scope(shop):
        first, second = Conversation.objects.order_by("pk")
        assert first.status == Conversation.Status.CLOSED  # /new closed it
        assert first.channel == second.channel == Platform.WHATSAPP
        assert Message.objects.filter(role=Message.Role.ASSISTANT).count() == 2


def test_chat_refuses_bad_arguments(shop, monkeypatch, tenant_b):
    with pytest.raises(CommandError, match="not valid JSON"):
        chat(monkeypatch, shop.slug, "--metadata", "{nope", lines=[])
    with pytest.raises(CommandError, match="must be a JSON object"):
        chat(monkeypatch, shop.slug, "--metadata", "[1]", lines=[])
    with tenant_scope(tenant_b):
        other = ContactFactory(tenant=tenant_b)
    with pytest.raises(CommandError, match=f"No contact {other.pk}"):
        chat(monkeypatch, shop.slug, "--contact", str(other.pk), lines=[])
    with pytest.raises(CommandError, match="No tenant"):
        chat(monkeypatch, "nope", lines=[])
