"""The channel accounts page of tenant admins: webhook URLs to copy, the WhatsApp verify
token and the widget snippet on the change page, write-only secrets, and CRM API keys
shown once."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import override_settings
from django.urls import reverse

from channels_app.models import ChannelAccount, hash_api_key
from channels_app.selectors import channel_account_for_api_key
from tenants.scoping import tenant_scope
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db

BASE = "https://desk.example.com"
SECRETS = {
    "bot_token": "123456:AAsecret-bot-token",
    "webhook_secret": "telegram-webhook-secret-value",
    "access_token": "EAAG-secret-access-token",
    "app_secret": "meta-app-secret-value",
    "verify_token": "meta-verify-token-value",
}


@pytest.fixture
def accounts(tenant_a):
    with tenant_scope(tenant_a):
        return {
            "telegram": ChannelAccountFactory(
                tenant=tenant_a,
                kind="telegram",
                name="Bot ventas",
                bot_token=SECRETS["bot_token"],
                webhook_secret=SECRETS["webhook_secret"],
            ),
            "whatsapp": ChannelAccountFactory(
                tenant=tenant_a,
                kind="whatsapp",
                name="WhatsApp Colombia",
                bot_token="",
                phone_number_id="1098",
                access_token=SECRETS["access_token"],
                app_secret=SECRETS["app_secret"],
                verify_token=SECRETS["verify_token"],
            ),
            "widget": ChannelAccountFactory(
                tenant=tenant_a,
                kind="widget",
                name="Sitio web",
                bot_token="",
                allowed_origins="https://www.alpha.example",
            ),
        }


def _change(account: ChannelAccount) -> str:
    return reverse("admin:channels_app_channelaccount_change", args=[account.pk])


CHANGELIST = "/admin/channels_app/channelaccount/"


@override_settings(PUBLIC_BASE_URL=BASE)
def test_the_list_shows_each_webhook_url_to_copy_and_no_secret(client, owner, accounts):
    client.force_login(owner)
    page = client.get(CHANGELIST).content.decode()
    for account in accounts.values():
        base = BASE.replace("https://", "wss://") if account.kind == "widget" else BASE
        url = f"{base}{account.webhook_path()}"  # the widget's is its WebSocket (issue 14)
        assert f"<code>{url}</code>" in page
        assert f'data-copy="{url}"' in page
        assert account.name in page and account.get_kind_display() in page
    assert "/static/desk/copy.js" in page
    for secret in SECRETS.values():
        assert secret not in page


@override_settings(PUBLIC_BASE_URL=BASE)
def test_whatsapp_change_page_shows_the_verify_token_and_hides_the_other_secrets(
    client, owner, accounts
):
    client.force_login(owner)
    page = client.get(_change(accounts["whatsapp"])).content.decode()
    assert f"{BASE}/webhooks/whatsapp/{accounts['whatsapp'].key}/" in page
    assert f'data-copy="{SECRETS["verify_token"]}"' in page  # to paste into Meta's console
    for name in ("access_token", "app_secret"):
        assert SECRETS[name] not in page
        field = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group()
        assert 'type="password"' in field and "value=" not in field
    assert "Set (hidden)" in page


@override_settings(PUBLIC_BASE_URL=BASE)
def test_widget_change_page_shows_the_embed_snippet_to_copy(client, owner, accounts):
    client.force_login(owner)
    key = accounts["widget"].key
    page = client.get(_change(accounts["widget"])).content.decode()
    snippet = f'<script src="{BASE}/static/widget/widget.js" data-key="{key}" async></script>'
    escaped = snippet.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert f"<code>{escaped}</code>" in page
    assert f'data-copy="{escaped}"' in page
    assert 'name="verify_token"' not in page  # only the widget's own settings


def test_telegram_secrets_are_write_only_and_blank_keeps_them(client, owner, accounts):
    client.force_login(owner)
    account = accounts["telegram"]
    page = client.get(_change(account)).content.decode()
    for name in ("bot_token", "webhook_secret"):
        assert SECRETS[name] not in page
    assert page.count("Set (hidden)") == 2
    data = {"name": "Bot renombrado", "is_active": "on", "bot_token": "", "webhook_secret": ""}
    assert client.post(_change(account), data).status_code == 302
    account.refresh_from_db()
    assert account.name == "Bot renombrado"
    assert (account.bot_token, account.webhook_secret) == (
        SECRETS["bot_token"],
        SECRETS["webhook_secret"],
    )
    data["bot_token"] = "999:new-token"
    assert client.post(_change(account), data).status_code == 302
    account.refresh_from_db()
    assert account.bot_token == "999:new-token"
    assert account.webhook_secret == SECRETS["webhook_secret"]


def test_a_new_telegram_account_gets_a_generated_webhook_secret(client, owner, tenant_a):
    client.force_login(owner)
    page = client.get(reverse("admin:channels_app_channelaccount_add")).content.decode()
    assert "Generated if left blank." in page
    response = client.post(
        reverse("admin:channels_app_channelaccount_add"),
        {
            "kind": "telegram",
            "name": "Nuevo bot",
            "is_active": "on",
            "bot_token": "1:abc",
            "webhook_secret": "",
            "access_token": "ignored: not a WhatsApp account",
            "color": "#0b6e4f",
        },
    )
    assert response.status_code == 302
    with tenant_scope(tenant_a):
        account = ChannelAccount.objects.get(name="Nuevo bot")
    assert account.tenant == tenant_a
    assert len(account.webhook_secret) > 20
    assert account.access_token == ""


def test_an_incomplete_account_is_a_form_error(client, owner, tenant_a):
    client.force_login(owner)
    response = client.post(
        reverse("admin:channels_app_channelaccount_add"),
        {"kind": "whatsapp", "name": "Sin secreto", "phone_number_id": "1", "color": "#0b6e4f"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"access_token", "app_secret"}
    response = client.post(
        reverse("admin:channels_app_channelaccount_add"),
        {"kind": "widget", "name": "Web", "allowed_origins": "www.alpha.example/x", "color": "red"},
    )
    assert set(response.context["adminform"].form.errors) == {"allowed_origins", "color"}
    with tenant_scope(tenant_a):
        assert not ChannelAccount.objects.exists()


def test_a_new_api_account_shows_its_key_once_and_stores_the_hash(client, owner, tenant_a):
    client.force_login(owner)
    response = client.post(
        reverse("admin:channels_app_channelaccount_add"),
        {"kind": "api", "name": "HubSpot", "is_active": "on", "color": "#0b6e4f"},
        follow=True,
    )
    page = response.content.decode()
    key = re.search(r"<code>(sk_[A-Za-z0-9_-]+)</code>", page).group(1)
    assert "shown only this once" in page
    with tenant_scope(tenant_a):
        account = ChannelAccount.objects.get(name="HubSpot")
    assert account.api_key_hash == hash_api_key(key)
    assert channel_account_for_api_key(raw_key=key) == account
    again = client.get(_change(account)).content.decode()
    assert key not in again
    assert account.api_key_prefix in again  # which key it is, not the key


def test_rotating_the_api_key_shows_the_new_one_once(client, owner, tenant_a, accounts):
    with tenant_scope(tenant_a):
        api = ChannelAccountFactory(tenant=tenant_a, kind="api", name="CRM", bot_token="")
        old_key = api.set_api_key()
        api.save()
    client.force_login(owner)
    response = client.post(
        CHANGELIST,
        {
            "action": "rotate_api_key",
            "_selected_action": [api.pk, accounts["telegram"].pk],
        },
        follow=True,
    )
    page = response.content.decode()
    new_key = re.search(r"<code>(sk_[A-Za-z0-9_-]+)</code>", page).group(1)
    assert "The previous key no longer works" in page
    assert "Skipped 1 account(s)" in page
    assert channel_account_for_api_key(raw_key=old_key) is None
    assert channel_account_for_api_key(raw_key=new_key) == api
    assert new_key not in client.get(CHANGELIST).content.decode()  # once


def test_a_sales_rep_sees_no_channel_page_and_no_secret(client, teammate, accounts):
    client.force_login(teammate)
    assert client.get(CHANGELIST).status_code == 403
    response = client.get(_change(accounts["whatsapp"]))
    assert response.status_code == 403
    assert SECRETS["verify_token"] not in response.content.decode()
    assert b"/admin/channels_app/channelaccount/" not in client.get("/admin/").content


def test_the_copy_script_is_a_local_static_file():
    path = finders.find("desk/copy.js")
    assert path
    source = open(path, encoding="utf-8").read()  # noqa: SIM115
    assert "navigator.clipboard" in source and "execCommand" in source
    assert "http" not in source  # no CDN, nothing fetched


def test_an_operator_adds_an_account_for_a_tenant(client, operator, tenant_b):
    client.force_login(operator)
    response = client.post(
        reverse("admin:channels_app_channelaccount_add"),
        {
            "tenant": tenant_b.pk,
            "kind": "widget",
            "name": "Web Bravo",
            "is_active": "on",
            "allowed_origins": "https://bravo.example",
            "color": "#0b6e4f",
        },
    )
    assert response.status_code == 302
    with tenant_scope(tenant_b):
        account = ChannelAccount.objects.get(name="Web Bravo")
    page = client.get(_change(account)).content.decode()
    assert "Bravo Sensors" in page and 'name="tenant"' not in page
