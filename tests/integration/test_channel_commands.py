"""Operator commands of the channels: ``add_channel`` and ``inbox_recover``."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from channels_app.inbox import Inbound, inbound_store
from channels_app.models import ChannelAccount, hash_api_key
from channels_app.selectors import channel_account_for_api_key
from crm.models import Message
from tenants.models import Tenant
from tenants.scoping import scopes_disabled, tenant_scope

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def text(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def accounts(tenant: Tenant) -> list[ChannelAccount]:
    with tenant_scope(tenant):
        return list(ChannelAccount.objects.order_by("pk"))


# add_channel ---------------------------------------------------------------------------


def test_add_telegram_bot(tenant_a, settings):
    data = run("add_channel", "alpha", "telegram", "--name", "Ventas", "--bot-token", "123:AAx")
    (account,) = accounts(tenant_a)
    assert data == {
        "tenant": "alpha",
        "kind": "telegram",
        "name": "Ventas",
        "key": account.key,
        "path": f"/webhooks/telegram/{account.key}/",
        "url": f"{settings.PUBLIC_BASE_URL}/webhooks/telegram/{account.key}/",
        "created": True,
    }
    assert account.bot_token == "123:AAx"
    assert account.webhook_secret  # generated: Telegram sends it back on every update
    assert "123:AAx" not in json.dumps(data)  # secrets are not printed


def test_add_whatsapp_number_prints_the_verify_token(tenant_a):
    data = run(
        "add_channel",
        "alpha",
        "whatsapp",
        "--phone-number-id",
        "1099",
        "--access-token",
        "EAAG-token",
        "--app-secret",
        "s3cret",
    )
    (account,) = accounts(tenant_a)
    assert (data["name"], data["path"]) == ("whatsapp", f"/webhooks/whatsapp/{account.key}/")
    assert data["verify_token"] == account.verify_token and account.verify_token
    assert (account.phone_number_id, account.access_token, account.app_secret) == (
        "1099",
        "EAAG-token",
        "s3cret",
    )
    assert "EAAG-token" not in json.dumps(data) and "s3cret" not in json.dumps(data)


def test_add_widget_prints_the_snippet(tenant_a):
    data = run(
        "add_channel",
        "alpha",
        "widget",
        "--origin",
        "https://www.alpha.example/",
        "--origin",
        "https://shop.alpha.example",
        "--greeting",
        "¡Hola!",
        "--color",
        "#112233",
    )
    (account,) = accounts(tenant_a)
    assert data["path"] == f"/ws/widget/{account.key}/"
    assert f'data-key="{account.key}"' in data["snippet"]
    assert account.origins == ["https://www.alpha.example", "https://shop.alpha.example"]
    assert (account.greeting, account.color) == ("¡Hola!", "#112233")


@pytest.mark.parametrize(
    ("base", "socket"),
    [
        ("http://127.0.0.1:8111", "ws://127.0.0.1:8111"),
        ("https://chat.example", "wss://chat.example"),
    ],
)
def test_printed_urls_follow_public_base_url(tenant_a, settings, base, socket):
    """Issue 14: `make run PORT=8111` must not print :8000; sockets are ws:// or wss://."""
    settings.PUBLIC_BASE_URL = base
    data = run("add_channel", "alpha", "widget", "--origin", "https://www.alpha.example")
    (account,) = accounts(tenant_a)
    assert data["url"] == f"{socket}/ws/widget/{account.key}/"
    assert data["snippet"].startswith(f'<script src="{base}/static/widget/widget.js"')
    assert f"{socket}/ws/widget/{account.key}/" in text("add_channel", "alpha", "widget")
    bot = run("add_channel", "alpha", "telegram", "--bot-token", "1:AA")
    assert bot["url"].startswith(f"{base}/webhooks/telegram/")


def test_add_api_account_prints_the_key_once_and_stores_only_its_hash(tenant_a):
    data = run("add_channel", "alpha", "api", "--name", "HubSpot")
    (account,) = accounts(tenant_a)
    key = data["api_key"]
    assert key.startswith("sk_") and len(key) > 40
    assert data["path"] == "/api/v1/messages"
    assert account.api_key_hash == hash_api_key(key)
    assert account.api_key_prefix == key[:10]
    with scopes_disabled():
        for field in ChannelAccount._meta.concrete_fields:
            assert getattr(account, field.attname) != key, field.name
    found = channel_account_for_api_key(raw_key=key)
    assert found is not None and found.pk == account.pk

    again = run("add_channel", "alpha", "api", "--name", "HubSpot")
    assert again["created"] is False and "api_key" not in again
    assert len(accounts(tenant_a)) == 1
    assert accounts(tenant_a)[0].api_key_hash == hash_api_key(key)  # the key still works


def test_human_output_shows_the_api_key_once(tenant_a):
    first = text("add_channel", "alpha", "api")
    key = next(line.split(": ", 1)[1] for line in first.splitlines() if "API key" in line)
    assert key.startswith("sk_")
    assert "sk_" not in text("add_channel", "alpha", "api")


def test_rerun_updates_the_account_without_a_new_key_or_a_new_row(tenant_a):
    first = run("add_channel", "alpha", "telegram", "--bot-token", "1:old")
    second = run("add_channel", "alpha", "telegram", "--bot-token", "1:new")
    (account,) = accounts(tenant_a)
    assert (first["created"], second["created"]) == (True, False)
    assert first["key"] == second["key"] == account.key
    assert account.bot_token == "1:new"
    # options left out keep their value
    third = run("add_channel", "alpha", "telegram")
    assert third["key"] == account.key
    assert accounts(tenant_a)[0].bot_token == "1:new"


def test_rerun_brings_back_a_deleted_account(tenant_a):
    first = run("add_channel", "alpha", "telegram", "--bot-token", "1:AA")
    with tenant_scope(tenant_a):
        ChannelAccount.objects.get().delete()
    assert accounts(tenant_a) == []
    again = run("add_channel", "alpha", "telegram", "--bot-token", "1:BB")
    assert again["created"] is False and again["key"] == first["key"]
    (account,) = accounts(tenant_a)
    assert account.bot_token == "1:BB" and not account.is_deleted


def test_same_name_in_two_tenants_is_two_accounts(tenant_a, tenant_b):
    a = run("add_channel", "alpha", "api")
    b = run("add_channel", "bravo", "api")
    assert a["key"] != b["key"] and a["api_key"] != b["api_key"]
    assert len(accounts(tenant_a)) == len(accounts(tenant_b)) == 1
    found = channel_account_for_api_key(raw_key=b["api_key"])
    assert found is not None and found.tenant_id == tenant_b.pk


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["telegram"], "needs bot_token"),
        (["whatsapp", "--phone-number-id", "1"], "needs access_token, app_secret"),
        (["widget"], "needs allowed_origins"),
        (["api", "--bot-token", "1:AA"], "bot_token do(es) not apply to api"),
        (["telegram", "--bot-token", "1:AA", "--origin", "https://x.example"], "not apply"),
        (["widget", "--origin", "https://x.example", "--color", "red"], "color must look"),
        (["widget", "--origin", "https://x.example/shop"], "not an origin"),
        (["widget", "--origin", "x.example"], "not an origin"),
        (["widget", "--origin", "javascript:alert(1)"], "not an origin"),
        (["widget", "--origin", "https://x.example:99999"], "not an origin"),
        (["telegram", "--bot-token", "1:AA", "--name", "x" * 101], "name"),
    ],
)
def test_missing_or_wrong_options_are_a_command_error_and_store_nothing(tenant_a, args, reason):
    with pytest.raises(CommandError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        call_command("add_channel", "alpha", *args, stdout=io.StringIO())
    assert accounts(tenant_a) == []


def test_unknown_tenant_is_a_command_error(tenant_a):
    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        call_command("add_channel", "nope", "api", stdout=io.StringIO())
    assert accounts(tenant_a) == []


def test_unknown_kind_is_refused(tenant_a):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("add_channel", "alpha", "fax", stdout=io.StringIO())


# inbox_recover -------------------------------------------------------------------------


def _waiting(tenant: Tenant, external_id: str, seconds_ago: float, address: str = "c-1") -> Message:
    out = io.StringIO()
    call_command("add_channel", tenant.slug, "api", stdout=out)
    with tenant_scope(tenant):
        account = ChannelAccount.objects.get(kind="api")
        message, _ = inbound_store(
            account=account, inbound=Inbound(address=address, text="Hola", external_id=external_id)
        )
        Message.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(seconds=seconds_ago)
        )
    return message


def test_inbox_recover_reports_what_it_requeued(tenant_a, tenant_b):
    a = _waiting(tenant_a, "ext:1", 120)
    b = _waiting(tenant_b, "ext:1", 120)
    _waiting(tenant_b, "ext:fresh", 0, address="c-2")
    DBTaskResult.objects.all().delete()

    assert run("inbox_recover") == {
        "resolved": 0,
        "requeued": 2,
        "stuck_sends_failed": 0,
        "uploads_requeued": 0,
    }
    queued = sorted(r.args_kwargs["args"] for r in DBTaskResult.objects.all())
    assert queued == sorted([[tenant_a.pk, a.conversation_id], [tenant_b.pk, b.conversation_id]])

    assert "3 conversation(s) re-queued, 0 uncertain send(s) flagged, 0 catalog" in text(
        "inbox_recover", "--older-than", "0"
    )


def test_inbox_recover_with_nothing_to_do(db):
    assert run("inbox_recover") == {
        "resolved": 0,
        "requeued": 0,
        "stuck_sends_failed": 0,
        "uploads_requeued": 0,
    }
    assert not DBTaskResult.objects.exists()
