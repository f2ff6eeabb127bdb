from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants.management.base import JsonSummaryCommand
from tenants.models import Membership
from tenants.services import MemberError, member_ensure, member_invite


class Command(JsonSummaryCommand):
    help = (
        "Create a staff user who is a member of a tenant, or add an existing user who "
        "belongs to no tenant, or update a member's role. Idempotent. A new member without "
        "--password gets a one-time set-password link (printed and e-mailed); an existing "
        "user's password is never changed here (they use `changepassword`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The tenant's slug.")
        parser.add_argument("email", help="The member logs in with this email.")
        parser.add_argument("--role", required=True, choices=Membership.Role.values)
        parser.add_argument(
            "--password",
            help="A new member's password; without it they get a set-password link.",
        )
        parser.add_argument("--full-name", default="")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        try:
            membership, result = member_ensure(
                tenant=tenant,
                email=options["email"],
                role=options["role"],
                password=options["password"],
                full_name=options["full_name"],
            )
        except MemberError as exc:
            raise CommandError(str(exc)) from exc
        joined = result.created or "membership" in result.changed
        link = member_invite(membership=membership) if joined else None
        state = "created" if result.created else ("updated" if result.changed else "unchanged")
        text = f"Member {membership.user.email} of {tenant.slug} as {membership.role}: {state}."
        if link:
            text += f"\nThey were e-mailed this one-time link to choose their password: {link}"
        if options["password"] and not result.created:
            text += "\nThe password was not changed: this user already existed."
        self.summarize(
            options,
            {
                "tenant": tenant.slug,
                "email": membership.user.email,
                "role": membership.role,
                "user_id": membership.user_id,
                "status": state,
                "changed": result.changed,
                "set_password_link": link,
            },
            text,
        )
