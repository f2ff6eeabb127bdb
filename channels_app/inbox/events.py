"""Webhook events: stored raw in one insert on the acknowledgement path, resolved by a worker.

:func:`inbound_events_store` is all a Telegram or WhatsApp webhook does after verifying
the request: one ``INSERT`` of every new message of the request (the provider's id is
unique per account, so a redelivery is recognised and stored nothing). It returns the
chats (addresses) that got new events, one resolve task each.

:func:`inbound_events_resolve` runs in a worker: it takes a chat's waiting events in
arrival order, stores each as a customer message (contact, conversation, route, message;
a message the bot cannot read gets the "text only" note instead of a turn), marks them
processed and returns the conversations to answer. Rows are locked while they are
resolved, so two workers on the same chat resolve each event once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.inbox.policy import only_text_reply
from channels_app.inbox.store import Inbound, inbound_store, inbound_store_unsupported
from channels_app.models import ChannelAccount, InboundEvent


@dataclass
class Stored:
    """What one request stored: new events, redeliveries, and the chats to resolve."""

    stored: int = 0
    duplicates: int = 0
    addresses: list[str] = field(default_factory=list)


def inbound_events_store(*, account: ChannelAccount, inbounds: Sequence[Inbound]) -> Stored:
    """Store the request's messages as events, once per provider id. The caller holds the
    tenant's scope and the transaction (acknowledge only once it committed)."""
    [stored] = inbound_events_store_many([(account, inbounds)])
    return stored


def inbound_events_store_many(
    requests: Sequence[tuple[ChannelAccount, Sequence[Inbound]]],
) -> list[Stored]:
    """:func:`inbound_events_store` for several requests of one tenant at once (a group
    commit's batch): one query for the ids already stored, one INSERT of the new events.
    A message that two requests carry is stored for the first and a duplicate for the
    second. The caller holds the tenant's scope and the transaction."""
    results = [Stored() for _ in requests]
    fresh: dict[tuple[int, str], tuple[int, ChannelAccount, Inbound]] = {}
    for number, (account, inbounds) in enumerate(requests):
        for inbound in inbounds:
            key = (account.pk, inbound.external_id)
            if key in fresh:
                results[number].duplicates += 1  # the same message twice in the batch
            else:
                fresh[key] = (number, account, inbound)
    if not fresh:
        return results
    tenant = requests[0][0].tenant
    known = set(
        InboundEvent.all_objects.filter(
            tenant=tenant, external_id__in=[external_id for _, external_id in fresh]
        ).values_list("account_id", "external_id")
    )
    new = [
        (number, _row(account, inbound))
        for key, (number, account, inbound) in fresh.items()
        if key not in known
    ]
    try:
        with transaction.atomic():
            InboundEvent.objects.bulk_create([row for _, row in new])
    except IntegrityError:
        # A redelivery raced this batch: store what is still new, one by one.
        new = [(number, row) for number, row in new if _insert_if_new(row)]
    for number, _, _ in fresh.values():
        results[number].duplicates += 1  # until it proves new, below
    for number, row in new:
        results[number].duplicates -= 1
        results[number].stored += 1
        if row.address not in results[number].addresses:
            results[number].addresses.append(row.address)
    return results


def _row(account: ChannelAccount, inbound: Inbound) -> InboundEvent:
    return InboundEvent(
        tenant=account.tenant,
        account=account,
        external_id=inbound.external_id,
        address=inbound.address,
        text=inbound.text,
        readable=inbound.readable,
        display_name=inbound.display_name[:200],
        language=inbound.language[:16],
        metadata=inbound.metadata,
    )


def _insert_if_new(row: InboundEvent) -> bool:
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def inbound_events_resolve(*, account_id: int, address: str) -> list[int]:
    """Store the chat's waiting events as messages, in order; the conversations to answer.

    The caller holds the tenant's scope. An inactive or deleted account's events stay
    waiting (nothing is answered on a channel that was switched off).
    """
    account = (
        ChannelAccount.objects.select_related("tenant")
        .filter(pk=account_id, is_active=True)
        .first()
    )
    if account is None:
        return []
    conversations: list[int] = []
    with transaction.atomic():
        events = list(
            InboundEvent.objects.select_for_update()
            .filter(account=account, address=address, processed_at__isnull=True)
            .order_by("pk")
        )
        for event in events:
            inbound = Inbound(
                address=event.address,
                text=event.text,
                external_id=event.external_id,
                display_name=event.display_name,
                metadata=event.metadata,
            )
            if event.readable:
                message, _ = inbound_store(account=account, inbound=inbound)
            else:
                reply = only_text_reply(account=account, address=address, hint=event.language)
                message, _ = inbound_store_unsupported(
                    account=account, inbound=inbound, reply=reply
                )
            if message.conversation_id not in conversations:
                conversations.append(message.conversation_id)
        if events:
            InboundEvent.objects.filter(pk__in=[e.pk for e in events]).update(
                processed_at=timezone.now()
            )
    return conversations
