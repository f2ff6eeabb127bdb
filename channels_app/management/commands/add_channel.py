from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from channels_app.models import ChannelAccount
from channels_app.services import ChannelError, channel_account_ensure
from tenants.management.base import JsonSummaryCommand
from tenants.scoping import tenant_scope


class Command(JsonSummaryCommand):
    help = (
        "Add (or update) a channel account of a tenant and print its key and webhook path. "
        "A CRM API account's key is printed once: store it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("kind", choices=[k.value for k in ChannelAccount.Kind])
        parser.add_argument("--name", default="", help="Defaults to the kind.")
        parser.add_argument("--bot-token", help="telegram: the token from @BotFather")
        parser.add_argument("--phone-number-id", help="whatsapp")
        parser.add_argument("--access-token", help="whatsapp")
        parser.add_argument("--app-secret", help="whatsapp: signs the webhooks")
        parser.add_argument(
            "--verify-token", help="whatsapp: for the webhook check (generated if omitted)"
        )
        parser.add_argument(
            "--origin", action="append", default=[], help="widget: an allowed origin (repeat)"
        )
        parser.add_argument("--greeting", help="widget")
        parser.add_argument("--color", help="widget: #rrggbb")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        kind = options["kind"]
        given = {
            "bot_token": options["bot_token"],
            "phone_number_id": options["phone_number_id"],
            "access_token": options["access_token"],
            "app_secret": options["app_secret"],
            "verify_token": options["verify_token"],
            "allowed_origins": "\n".join(o.rstrip("/") for o in options["origin"]),
            "greeting": options["greeting"],
            "color": options["color"],
        }
        values = {k: v for k, v in given.items() if v}
        try:
            with tenant_scope(tenant):
                account, created, api_key = channel_account_ensure(
                    tenant=tenant, kind=kind, name=options["name"] or kind, values=values
                )
        except (ChannelError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        data: dict[str, Any] = {
            "tenant": tenant.slug,
            "kind": kind,
            "name": account.name,
            "key": account.key,
            "path": account.webhook_path(),
            "url": account.public_endpoint(),
            "created": created,
        }
        lines = [
            f"{'Created' if created else 'Updated'} {account}.",
            f"  key:  {account.key}",
            f"  path: {account.webhook_path()}",
            f"  url:  {account.public_endpoint()}",
        ]
        if kind == ChannelAccount.Kind.WHATSAPP:
            data["verify_token"] = account.verify_token
            lines.append(f"  verify token (for Meta's webhook set-up): {account.verify_token}")
        if kind == ChannelAccount.Kind.TELEGRAM:
            lines.append(
                f"  next: manage.py set_telegram_webhook {tenant.slug} --account {account.name}"
            )
        if kind == ChannelAccount.Kind.WIDGET:
            snippet = account.embed_snippet()
            data["snippet"] = snippet
            lines.append(f"  embed: {snippet}")
        if api_key:
            data["api_key"] = api_key
            lines.append(f"  API key (shown once, store it): {api_key}")
        self.summarize(options, data, "\n".join(lines))
