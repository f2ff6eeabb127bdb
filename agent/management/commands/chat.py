"""A terminal chat with a tenant's real agent: test the bot before going live.

Each line you type is stored as a customer message of a console contact and
answered by the same turn the channels use (LLM with tools, or the catalog
fallback when no key is set or the LLM fails). ``/new`` closes the
conversation and starts another; ``/quit`` (or end of input) leaves.
"""

from __future__ import annotations

import getpass
import json
import logging
import sys
from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import CommandError, CommandParser

from agent.services import respond
from crm.models import Contact, Conversation, Message, Platform
from crm.services import (
    contact_get_or_create_for_platform,
    conversation_close,
    conversation_open,
    conversation_start,
    message_add,
)
from tenants.management.base import JsonSummaryCommand
from tenants.models import Tenant
from tenants.scoping import tenant_scope

MAX_MESSAGE_CHARS = 4000


class Command(JsonSummaryCommand):
    help = "Chat with a tenant's agent from the terminal (a REPL against the real agent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--contact", type=int, help="Talk as this existing contact (its id).")
        parser.add_argument(
            "--metadata",
            default="{}",
            help='JSON object passed with every message, as a CRM would: \'{"segment": "VIP"}\'',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.get_tenant(options["slug"])
        try:
            metadata = json.loads(options["metadata"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--metadata is not valid JSON: {exc}") from exc
        if not isinstance(metadata, dict):
            raise CommandError('--metadata must be a JSON object, e.g. {"segment": "VIP"}')
        interactive = sys.stdin.isatty()
        root = logging.getLogger()
        level = root.level
        if options["verbosity"] < 2:
            # The server's INFO lines (turns, fallbacks, model loading) would interleave
            # with the conversation; -v 2 shows them.
            root.setLevel(logging.WARNING)
        try:
            self._chat(tenant, options["contact"], metadata, interactive=interactive)
        finally:
            root.setLevel(level)

    def _chat(
        self, tenant: Tenant, contact_id: int | None, metadata: dict[str, Any], *, interactive: bool
    ) -> None:
        with tenant_scope(tenant):
            contact = self._contact(tenant, contact_id)
            conversation = conversation_open(
                tenant=tenant, contact=contact, channel=contact.platform or Platform.CONSOLE
            )
        self.stderr.write(
            f"Chatting with {tenant.name}'s agent as {contact} "
            f"(conversation {conversation.pk}). /new starts over, /quit leaves."
        )
        while True:
            try:
                line = input("you> " if interactive else "")
            except EOFError:
                break
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit"):
                break
            if text == "/new":
                with tenant_scope(tenant):
                    conversation_close(conversation=conversation)
                    conversation = conversation_start(
                        tenant=tenant, contact=contact, channel=conversation.channel
                    )
                self.stderr.write(f"(new conversation {conversation.pk})")
                continue
            conversation = self._turn(
                tenant, conversation, contact, text[:MAX_MESSAGE_CHARS], metadata
            )

    def _contact(self, tenant: Tenant, contact_id: int | None) -> Contact:
        if contact_id is not None:
            contact = Contact.objects.filter(pk=contact_id).first()
            if contact is None:
                raise CommandError(f"No contact {contact_id} in tenant {tenant.slug}.")
            return contact
        contact, _ = contact_get_or_create_for_platform(
            tenant=tenant,
            platform=Platform.CONSOLE,
            platform_user_id=f"console:{getpass.getuser()}",
            full_name="",
        )
        return contact

    def _turn(
        self,
        tenant: Tenant,
        conversation: Conversation,
        contact: Contact,
        text: str,
        metadata: dict[str, Any],
    ) -> Conversation:
        with tenant_scope(tenant):
            conversation = conversation_open(
                tenant=tenant, contact=contact, channel=conversation.channel
            )
            message_add(
                conversation=conversation, role=Message.Role.USER, content=text, metadata=metadata
            )
        self.stdout.write("bot> ", ending="")
        self.stdout.flush()

        async def show(token: str) -> None:
            self.stdout.write(token, ending="")
            self.stdout.flush()

        result = async_to_sync(respond)(conversation, on_token=show)
        self.stdout.write("")
        if result is None:
            self.stderr.write("(this conversation is with a sales rep: the bot does not answer)")
        elif result.mode == "fallback":
            self.stderr.write(f"[fallback: {result.reason}; flagged for a rep]")
        else:
            tokens = sum(s.prompt_tokens + s.completion_tokens for s in result.steps)
            self.stderr.write(f"[llm: {len(result.steps)} call(s), {tokens} tokens]")
            if result.handed_off:
                self.stderr.write("(handed off to a sales rep: the bot stops answering)")
        return conversation
