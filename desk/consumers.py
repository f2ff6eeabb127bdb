"""The conversation page's live socket: ``/ws/desk/conversations/<id>/``.

Authenticated by the admin's session (``AuthMiddlewareStack`` on this route only,
behind an ``Origin`` check against ``ALLOWED_HOSTS``). The user must be able to view
the conversation (a member of its tenant with the view permission, or an operator);
anyone else is refused before the handshake completes and nothing is read for them.

The socket joins the conversation's group (``channels_app.live.conversation_group``,
namespaced by tenant and conversation). A notice names a message; the consumer
reloads it in the conversation's tenant scope and sends it as
``{"type": "message", "message": {...}}`` (the transcript's row, see
``desk/transcript.py``). The socket only listens: frames from the browser are ignored.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from channels_app.live import conversation_group
from desk.selectors import conversation_for_watcher, conversation_message_row
from tenants.models import Tenant

CLOSE_REFUSED = 4403


class ConversationConsumer(AsyncJsonWebsocketConsumer):
    tenant: Tenant | None = None
    conversation_id: int = 0
    group: str = ""

    async def connect(self) -> None:
        conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        conversation = await database_sync_to_async(conversation_for_watcher)(
            user=self.scope.get("user"), conversation_id=conversation_id
        )
        if conversation is None:
            await self.close(code=CLOSE_REFUSED)
            return
        self.tenant = conversation.tenant
        self.conversation_id = conversation.pk
        self.group = conversation_group(
            tenant_id=conversation.tenant_id, conversation_id=conversation.pk
        )
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        return None  # a listening socket

    async def conversation_message(self, event: dict[str, Any]) -> None:
        if self.tenant is None:
            return
        row = await database_sync_to_async(conversation_message_row)(
            tenant=self.tenant,
            conversation_id=self.conversation_id,
            message_id=int(event["message_id"]),
        )
        if row is not None:
            await self.send_json({"type": "message", "message": row})
