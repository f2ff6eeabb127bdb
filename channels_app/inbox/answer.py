"""Answering: one turn at a time per conversation, whatever the number of workers.

:func:`conversation_answer` runs turns for one conversation while it has waiting
messages, holding a lease on it (a conditional UPDATE in the database) that it renews
while the turn runs: a live worker keeps its conversation however long the LLM takes, a
killed one lets go within ``INBOX_LEASE_SECONDS``. Before each turn, a quote the customer
accepts (a button, a typed "acepto") is answered by :mod:`channels_app.inbox.acceptance`,
and the agent does not answer that message. Messages that arrive during a turn
are answered together in the next one. Replies go out in order through
:func:`channels_app.inbox.delivery.conversation_deliver`; when one waits for a retry,
:attr:`Answered.retry_at` says when the caller must run the conversation again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import sync_to_async
from django.conf import settings

from agent.services import respond
from channels_app.inbox.acceptance import quote_answers_handle
from channels_app.inbox.delivery import conversation_deliver, route_of
from channels_app.models import ConversationRoute
from channels_app.transport import Transport, transport_for
from crm.models import Conversation, Message
from crm.services import (
    conversation_lease_acquire,
    conversation_lease_release,
    conversation_lease_renew,
)
from tenants.models import Tenant
from tenants.scoping import tenant_scope

logger = logging.getLogger(__name__)

TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for about 5 s
TYPING_STOP_WAIT = 5.0  # seconds the turn waits for the typing loop to end


@dataclass
class Answered:
    replies: int = 0  # bot replies stored
    retry_at: datetime | None = None  # a reply waits for a retry this run scheduled


lease_acquire = conversation_lease_acquire
lease_renew = conversation_lease_renew
lease_release = conversation_lease_release


async def _keep_lease(conversation_id: int, token: str) -> None:
    every = settings.INBOX_LEASE_SECONDS / 3
    while True:
        await asyncio.sleep(every)
        if not await sync_to_async(lease_renew)(conversation_id=conversation_id, token=token):
            logger.warning("conversation %s: lease lost during a turn", conversation_id)
            return


def has_waiting(*, conversation_id: int) -> bool:
    return Message.objects.filter(
        conversation_id=conversation_id, role=Message.Role.USER, handled_at__isnull=True
    ).exists()


async def conversation_answer(*, tenant: Tenant, conversation_id: int) -> int:
    """Answer the conversation's waiting messages, turn after turn; returns replies stored.

    Returns 0 at once when another worker holds the conversation: that worker looks for
    waiting messages again before it lets go.
    """
    return (await conversation_answer_run(tenant=tenant, conversation_id=conversation_id)).replies


async def conversation_answer_run(*, tenant: Tenant, conversation_id: int) -> Answered:
    """:func:`conversation_answer`, also saying when a reply that failed must be retried."""
    token = uuid.uuid4().hex
    answered = Answered()
    with tenant_scope(tenant):
        while True:
            if not await sync_to_async(lease_acquire)(conversation_id=conversation_id, token=token):
                return answered
            keeper = asyncio.create_task(_keep_lease(conversation_id, token))
            try:
                await _turns(tenant, conversation_id, answered)
            finally:
                keeper.cancel()
                await sync_to_async(lease_release)(conversation_id=conversation_id, token=token)
            if not await sync_to_async(has_waiting)(conversation_id=conversation_id):
                return answered


async def _deliver(conversation_id: int, answered: Answered) -> None:
    retry_at = await conversation_deliver(conversation_id)
    if retry_at is not None:
        answered.retry_at = min(filter(None, (answered.retry_at, retry_at)))


async def _turns(tenant: Tenant, conversation_id: int, answered: Answered) -> None:
    await _deliver(conversation_id, answered)  # replies left by a crash or a failed send
    while True:
        # A quote accepted in the chat (a button, a typed "acepto") is answered before the
        # agent runs, and the agent does not answer that message.
        accepted = await sync_to_async(quote_answers_handle)(
            tenant=tenant, conversation_id=conversation_id
        )
        if accepted:
            answered.replies += accepted
            await _deliver(conversation_id, answered)
        route = await sync_to_async(route_of)(conversation_id)
        transport = transport_for(route.account.kind) if route else None
        conversation = (
            route.conversation if route else await Conversation.objects.aget(pk=conversation_id)
        )
        typing = None
        stop_typing = asyncio.Event()
        # "Typing" only for a turn that has something to answer: the loop's last pass
        # finds nothing, and a signal from it would follow the reply it just sent.
        bot_turn = conversation.status == Conversation.Status.ACTIVE and (
            await sync_to_async(has_waiting)(conversation_id=conversation_id)
        )
        if transport is not None and route is not None and bot_turn:
            await _mark_read(transport, route)
            typing = asyncio.create_task(_keep_typing(transport, route, stop_typing))
        try:
            on_token = transport.token_callback(route) if transport and route else None
            result = await respond(conversation, on_token=on_token)
        finally:
            if typing is not None:
                stop_typing.set()
                typing.cancel()
                # A client library may turn the cancellation into an ordinary error that
                # the loop swallows; the event still ends it, and the turn never waits long.
                await asyncio.wait({typing}, timeout=TYPING_STOP_WAIT)
                await _typing_stop(transport, route)
        if result is None:
            return
        answered.replies += 1
        if result.message is not None:
            await _deliver(conversation_id, answered)


async def _keep_typing(transport: Transport, route: ConversationRoute, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(Exception):
            await transport.typing(route)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TYPING_EVERY)


async def _typing_stop(transport: Transport | None, route: ConversationRoute | None) -> None:
    """Tell a channel that shows typing until told otherwise (the widget) the turn ended."""
    stop = getattr(transport, "typing_stop", None)
    if stop is not None and route is not None:
        with contextlib.suppress(Exception):
            await stop(route)


async def _mark_read(transport: Transport, route: ConversationRoute) -> None:
    """Tell the platform the bot read the waiting messages (the latest stands for all)."""
    mark_read = getattr(transport, "mark_read", None)
    if mark_read is None or route.conversation.status != Conversation.Status.ACTIVE:
        return
    latest = await (
        Message.objects.filter(
            conversation_id=route.conversation_id,
            role=Message.Role.USER,
            handled_at__isnull=True,
            external_id__isnull=False,
        )
        .order_by("-created_at", "-pk")
        .values_list("external_id", flat=True)
        .afirst()
    )
    if latest:
        with contextlib.suppress(Exception):
            await mark_read(route, latest)
