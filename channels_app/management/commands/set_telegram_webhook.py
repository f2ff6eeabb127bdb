from __future__ import annotations

from typing import Any

import httpx
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from channels_app.models import ChannelAccount
from channels_app.outbound import Outcome, post_json
from channels_app.telegram.transport import api_url, outcome_error
from tenants.management.base import JsonSummaryCommand
from tenants.scoping import tenant_scope

ALLOWED_UPDATES = ["message", "callback_query"]  # callback_query: a quote's Accept button


async def _set_webhook(account: ChannelAccount, url: str) -> Outcome:
    payload = {
        "url": url,
        "secret_token": account.webhook_secret,
        "allowed_updates": ALLOWED_UPDATES,
    }
    async with httpx.AsyncClient(timeout=settings.CHANNEL_SEND_TIMEOUT) as client:
        return await post_json(client, api_url(account, "setWebhook"), payload)


class Command(JsonSummaryCommand):
    help = (
        "Point a Telegram bot's webhook at this server (setWebhook with the account's "
        "secret token; only messages are delivered)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--name",
            "--account",
            dest="name",
            default="",
            help="The Telegram account's name (needed when the tenant has several).",
        )
        parser.add_argument(
            "--url", default="", metavar="BASE", help="Public base URL (default PUBLIC_BASE_URL)."
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        with tenant_scope(tenant):
            account = self._account(options["name"])
        if not account.bot_token:
            raise CommandError(f"{account} has no bot token: run add_channel --bot-token.")
        if not account.webhook_secret:
            raise CommandError(f"{account} has no webhook secret.")
        base = (options["url"] or settings.PUBLIC_BASE_URL).rstrip("/")
        url = base + account.webhook_path()
        outcome = async_to_sync(_set_webhook)(account, url)
        body = outcome.body if isinstance(outcome.body, dict) else {}
        if not (outcome.ok and body.get("ok") is True):
            reason, _ = outcome_error(outcome, account)
            raise CommandError(f"Telegram refused the webhook for {account}: {reason}")
        description = str(body.get("description") or "Webhook was set")
        self.summarize(
            options,
            {
                "tenant": tenant.slug,
                "name": account.name,
                "url": url,
                "allowed_updates": ALLOWED_UPDATES,
                "ok": True,
                "description": description,
            },
            f"{account}: {description}.\n  url: {url}",
        )

    def _account(self, name: str) -> ChannelAccount:
        accounts = ChannelAccount.objects.filter(kind=ChannelAccount.Kind.TELEGRAM)
        if name:
            account = accounts.filter(name=name).first()
            if account is None:
                raise CommandError(f"No Telegram account named {name!r}.")
        else:
            found = list(accounts[:2])
            if not found:
                raise CommandError("This tenant has no Telegram account: run add_channel first.")
            if len(found) > 1:
                names = ", ".join(sorted(accounts.values_list("name", flat=True)))
                raise CommandError(f"Several Telegram accounts ({names}): pick one with --name.")
            account = found[0]
        if not account.is_active:
            raise CommandError(f"{account} is inactive: activate it first.")
        return account
