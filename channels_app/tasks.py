"""Every background task of the channels, and every place that queues one.

Each task reloads its tenant and enters its scope (:func:`tenants.tasks.tenant_task`),
then calls the inbox. Nothing in ``channels_app.inbox`` enqueues: it says what needs a
task (the chats a webhook stored events for, a retry time, what recovery found) and the
functions here queue it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from asgiref.sync import sync_to_async
from django_tasks import task

from channels_app.inbox import (
    conversation_answer_run,
    inbound_events_resolve,
    inbox_pending_work,
)
from channels_app.models import ChannelAccount
from tenants.models import Tenant
from tenants.tasks import enqueue_many_with_commit, enqueue_on_commit, tenant_task

logger = logging.getLogger(__name__)


@task()
@tenant_task
async def conversation_answer_task(tenant: Tenant, conversation_id: int) -> int:
    """Answer the conversation's waiting messages and send its due replies (a no-op when
    another worker is on it); runs again when a reply waits for a retry."""
    answered = await conversation_answer_run(tenant=tenant, conversation_id=conversation_id)
    if answered.retry_at is not None:
        await conversation_answer_later(tenant.pk, conversation_id, at=answered.retry_at)
    return answered.replies


@task()
@tenant_task
async def inbound_resolve_task(tenant: Tenant, account_id: int, address: str) -> int:
    """Turn one chat's stored webhook events into messages, in order, and answer them."""
    conversations = await sync_to_async(inbound_events_resolve)(
        account_id=account_id, address=address
    )
    replies = 0
    for conversation_id in conversations:
        answered = await conversation_answer_run(tenant=tenant, conversation_id=conversation_id)
        if answered.retry_at is not None:
            await conversation_answer_later(tenant.pk, conversation_id, at=answered.retry_at)
        replies += answered.replies
    return replies


# Queueing ---------------------------------------------------------------------------------


def inbound_resolve_enqueue(*, account: ChannelAccount, addresses: list[str]) -> None:
    """One resolve task per chat of ``account`` that got new events (see below)."""
    inbound_resolve_enqueue_many([(account.tenant_id, account.pk, a) for a in addresses])


def inbound_resolve_enqueue_many(chats: list[tuple[int, int, str]]) -> None:
    """One resolve task per ``(tenant id, account id, address)`` that got new events,
    committed with them (the database queue writes the task rows in the events'
    transaction, in one INSERT)."""
    if chats:
        enqueue_many_with_commit(inbound_resolve_task, chats)


def conversation_answer_enqueue(*, tenant_id: int, conversation_id: int) -> None:
    """Answer the conversation in the background once the current transaction commits."""
    enqueue_on_commit(conversation_answer_task, tenant_id, conversation_id)


async def conversation_answer_later(tenant_id: int, conversation_id: int, *, at: datetime) -> None:
    await conversation_answer_task.using(run_after=at).aenqueue(tenant_id, conversation_id)


def inbox_recover(*, older_than: float | None = None) -> dict[str, int]:
    """Queue what a crash left behind (all tenants; see ``channels_app.inbox.recovery``)."""
    work = inbox_pending_work(older_than=older_than)
    for tenant_id, account_id, address in work.chats:
        inbound_resolve_task.enqueue(tenant_id, account_id, address)
    for tenant_id, conversation_id in work.conversations:
        conversation_answer_task.enqueue(tenant_id, conversation_id)
    if work.chats or work.conversations or work.stuck_sends_failed:
        logger.info(
            "inbox recovery: %d chat(s) to resolve, %d conversation(s) re-queued, %d stuck",
            len(work.chats),
            len(work.conversations),
            work.stuck_sends_failed,
        )
    return {
        "resolved": len(work.chats),
        "requeued": len(work.conversations),
        "stuck_sends_failed": work.stuck_sends_failed,
    }
