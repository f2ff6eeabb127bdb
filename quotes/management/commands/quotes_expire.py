"""``manage.py quotes_expire [SLUG] [--loop SECONDS]``: open quotes past validity expire.

Draft, approved and sent quotes whose validity date has passed become expired (audited,
``quote.expired`` published) in one tenant, or in every active tenant without SLUG. An
expired quote can no longer be accepted; acceptance also checks the date itself, so this
only keeps the desk's lists and the integrations' view current. With ``--loop`` it runs
every N seconds beside the workers (docker-compose's ``quotes-expiry``).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser

from crm.audit import Actor
from quotes.services import quotes_expire
from tenants.management.base import JsonSummaryCommand
from tenants.models import Tenant
from tenants.scoping import tenant_scope

ACTOR_NAME = "quotes_expire"


class Command(JsonSummaryCommand):
    help = (
        "Mark open quotes past their validity date expired, in one tenant (SLUG) or in every "
        "active tenant. With --loop, keep doing it every N seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", default="")
        parser.add_argument("--loop", type=float, default=0, metavar="SECONDS")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        named = self.get_tenant(options["slug"]) if options["slug"] else None
        actor = Actor.system(ACTOR_NAME)
        while True:
            tenants = [named] if named else list(Tenant.objects.filter(is_active=True))
            expired: dict[str, int] = {}
            for tenant in tenants:
                with tenant_scope(tenant):
                    expired[tenant.slug] = quotes_expire(tenant=tenant, actor=actor)
            total = sum(expired.values())
            self.summarize(
                options,
                {"expired": expired, "total": total},
                f"{total} quote(s) expired in {len(tenants)} tenant(s).",
            )
            if not options["loop"]:
                return
            time.sleep(options["loop"])
