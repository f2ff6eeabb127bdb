"""Recovery: find the work a crash left behind, from the rows' own state (all tenants).

The queue is a wake-up, not the record: what must be answered is in the inbox's tables.
:func:`inbox_pending_work` lists chats whose webhook events were stored but not resolved,
and conversations with waiting customer messages or due unsent replies and no live lease.
``channels_app.tasks.inbox_recover`` queues a task for each (on start and periodically).

A reply caught in ``sending`` by a crash is not resent (it may have gone out): it is
marked failed and the conversation flagged for a rep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from channels_app.inbox.delivery import _fail
from channels_app.models import InboundEvent
from crm.models import Message
from tenants.scoping import scopes_disabled


@dataclass
class PendingWork:
    chats: list[tuple[int, int, str]] = field(default_factory=list)  # tenant, account, address
    conversations: list[tuple[int, int]] = field(default_factory=list)  # tenant, conversation
    stuck_sends_failed: int = 0


def inbox_pending_work(*, older_than: float | None = None) -> PendingWork:
    """What needs a task. ``older_than`` (seconds, default ``INBOX_RECOVER_AFTER``) leaves
    alone what just arrived: its own task is still on the way."""
    now = timezone.now()
    cutoff = now - timedelta(
        seconds=settings.INBOX_RECOVER_AFTER if older_than is None else older_than
    )
    # A send in progress keeps its conversation's lease alive; past this, it is a crash.
    stuck_cutoff = now - timedelta(
        seconds=max(settings.INBOX_LEASE_SECONDS, 2 * settings.CHANNEL_SEND_TIMEOUT)
    )
    free = Q(conversation__turn_lease_until__isnull=True) | Q(
        conversation__turn_lease_until__lt=now
    )
    work = PendingWork()
    with scopes_disabled():
        stuck = list(
            Message.objects.filter(
                free, delivery_status=Message.Delivery.SENDING, updated_at__lt=stuck_cutoff
            ).select_related("conversation")
        )
        for message in stuck:
            _fail(message, "delivery uncertain after a crash: not resent", flag=True)
        work.stuck_sends_failed = len(stuck)
        work.chats = sorted(
            set(
                InboundEvent.objects.filter(
                    processed_at__isnull=True, created_at__lt=cutoff
                ).values_list("tenant_id", "account_id", "address")
            )
        )
        waiting = Message.objects.filter(
            free, role=Message.Role.USER, handled_at__isnull=True, created_at__lt=cutoff
        )
        unsent = Message.objects.filter(
            free,
            role__in=[Message.Role.ASSISTANT, Message.Role.AGENT],
            delivery_status=Message.Delivery.PENDING,
            created_at__lt=cutoff,
        ).exclude(next_attempt_at__gt=now)  # a scheduled retry has its own task
        pairs = set(waiting.values_list("tenant_id", "conversation_id"))
        pairs |= set(unsent.values_list("tenant_id", "conversation_id"))
    work.conversations = sorted(pairs)
    return work
