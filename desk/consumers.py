"""The desk's live sockets: the conversation page's, ``/ws/desk/conversations/<id>/``, and
the conversations inbox's, ``/ws/desk/inbox/``.

Authenticated by the admin's session (``AuthMiddlewareStack`` on this route only,
behind an ``Origin`` check against ``ALLOWED_HOSTS``). The user must be able to view
the conversation (a member of its tenant with the view permission, or an operator);
anyone else is refused before the handshake completes and nothing is read for them.

The socket joins the conversation's group (``channels_app.live.conversation_group``,
namespaced by tenant and conversation). A notice names a message; the consumer
reloads it in the conversation's tenant scope and sends it as
``{"type": "message", "message": {...}}`` (the transcript's row, see
``desk/transcript.py``). A customer message shown this way counts as read by the member
(``desk.services.conversation_mark_read``). The socket only listens: frames from the
browser are ignored.

The inbox's socket is a member's (their role must view conversations; operators, who
belong to no tenant, are refused and the page refreshes itself over HTTP). It joins its
tenant's inbox group (``desk.inbox.inbox_group``) and, for each notice, reloads the
conversation in the tenant's scope and sends ``{"type": "conversation", "event": …,
"notify": bool, "conversation": {...}}`` (``desk.selectors.inbox_item``: the
contact, the reason or the last message, the member's unread count, whether a draft quote
waits for approval). ``notify`` is true for a new conversation, a flag or handoff request
and a new draft quote to approve that the member did not cause themself:
what the page shows as a browser notification. A read-mark notice reaches only its member.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from channels_app.live import conversation_group
from crm.models import Message
from desk.inbox import inbox_group
from desk.selectors import (
    conversation_for_watcher,
    conversation_message_row,
    inbox_item,
    inbox_tenant_for_watcher,
)
from desk.services import conversation_mark_read
from tenants.language import member_language
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tenants.selectors import membership_for_user

CLOSE_REFUSED = 4403
# Inbox events a member is notified of (unless they caused it): a new conversation, one
# flagged for a rep (a fallback answer, a failed delivery), a handoff request; and a draft
# quote prepared (by the agent or another member) that waits for a rep's approval.
NOTIFY_EVENTS = frozenset({"created", "flagged", "handed_off"})
QUOTE_DRAFTED = "quote_created"


def _member_language(user: Any) -> str:
    """The language of the member's desk (theirs, else their tenant's, as the pages'
    ``tenants.language`` middleware picks it), else the default."""
    return member_language(membership_for_user(user=user)) or str(settings.LANGUAGE_CODE)


class _Listening(AsyncJsonWebsocketConsumer):
    """A socket that only listens to one group of one tenant, in its member's language."""

    tenant: Tenant | None = None
    group: str = ""
    language: str = ""

    async def join(self, tenant: Tenant, group: str) -> None:
        self.tenant = tenant
        # What it sends speaks the member's language, as the pages do (tenants.language).
        self.language = await database_sync_to_async(_member_language)(self.scope.get("user"))
        self.group = group
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        return None  # a listening socket


class ConversationConsumer(_Listening):
    conversation_id: int = 0

    async def connect(self) -> None:
        conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        conversation = await database_sync_to_async(conversation_for_watcher)(
            user=self.scope.get("user"), conversation_id=conversation_id
        )
        if conversation is None:
            await self.close(code=CLOSE_REFUSED)
            return
        self.conversation_id = conversation.pk
        group = conversation_group(
            tenant_id=conversation.tenant_id, conversation_id=conversation.pk
        )
        await self.join(conversation.tenant, group)

    async def conversation_message(self, event: dict[str, Any]) -> None:
        if self.tenant is None:
            return
        row = await database_sync_to_async(self._row)(int(event["message_id"]))
        if row is not None:
            await self.send_json({"type": "message", "message": row})
            if row["role"] == Message.Role.USER:
                await database_sync_to_async(self._mark_read)()

    def _row(self, message_id: int) -> Any:
        assert self.tenant is not None
        with translation.override(self.language or None):
            return conversation_message_row(
                tenant=self.tenant, conversation_id=self.conversation_id, message_id=message_id
            )

    def _mark_read(self) -> None:
        user = self.scope.get("user")
        conversation = conversation_for_watcher(user=user, conversation_id=self.conversation_id)
        if conversation is not None:
            with tenant_scope(conversation.tenant):
                conversation_mark_read(conversation=conversation, user=user)


class InboxConsumer(_Listening):
    async def connect(self) -> None:
        tenant = await database_sync_to_async(inbox_tenant_for_watcher)(user=self.scope.get("user"))
        if tenant is None:
            await self.close(code=CLOSE_REFUSED)
            return
        await self.join(tenant, inbox_group(tenant_id=tenant.pk))

    async def inbox_changed(self, event: dict[str, Any]) -> None:
        if self.tenant is None:
            return
        user: Any = self.scope["user"]
        name = str(event.get("event", ""))
        if event.get("user_id") is not None and event["user_id"] != user.pk:
            return  # another member's read mark
        item = await database_sync_to_async(self._item)(int(event["conversation_id"]))
        if item is None:
            return
        # A draft waiting for a rep is the news, whatever the last message was (a draft
        # the agent sent at once, without approval, is not).
        drafted = name == QUOTE_DRAFTED and item["quote_draft"]
        if drafted:
            with translation.override(self.language):
                item["body"] = gettext("Quote needs approval")
        notify = (name in NOTIFY_EVENTS or drafted) and event.get("actor_user_id") != user.pk
        await self.send_json(
            {"type": "conversation", "event": name, "notify": notify, "conversation": item}
        )

    def _item(self, conversation_id: int) -> Any:
        assert self.tenant is not None
        with translation.override(self.language):
            return inbox_item(
                tenant=self.tenant, conversation_id=conversation_id, user=self.scope["user"]
            )
