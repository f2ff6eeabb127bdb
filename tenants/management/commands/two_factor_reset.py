"""``manage.py two_factor_reset EMAIL``: a staff user lost their phone and recovery codes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from tenants.management.base import JsonSummaryCommand
from tenants.two_factor import two_factor_required, two_factor_reset


class Command(JsonSummaryCommand):
    help = (
        "Remove a staff user's authenticator app and recovery codes, so that they sign in "
        "with their password (and set up a new app then, when their tenant requires it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The user's sign-in e-mail.")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        user = get_user_model().objects.filter(username__iexact=email).first()
        if user is None:
            raise CommandError(f"No user {email!r}.")
        removed = two_factor_reset(user=user)
        required = two_factor_required(user=user)
        self.summarize(
            options,
            {"email": user.get_username(), "devices_removed": removed, "required": required},
            f"Removed {removed} two-factor device(s) of {user.get_username()}"
            + ("; they set up a new app at their next sign-in." if required else "."),
        )
