"""Telegram's background work: answering a pressed inline button (``answerCallbackQuery``).

The webhook only queues it, in the transaction that stores the press (or alone, for a
button that is not ours), so the acknowledgement path makes no call to Telegram.
"""

from __future__ import annotations

from django_tasks import task

from channels_app.models import ChannelAccount
from channels_app.telegram.transport import transport
from tenants.models import Tenant
from tenants.tasks import enqueue_many_with_commit, tenant_task


@task()
@tenant_task
async def telegram_callback_answer_task(
    tenant: Tenant, account_id: int, callback_query_id: str
) -> bool:
    """Stop the spinner on the customer's button (best effort: one attempt)."""
    account = await ChannelAccount.objects.filter(pk=account_id, is_active=True).afirst()
    if account is None:
        return False
    return await transport.callback_answer(account, callback_query_id)


def telegram_callback_answer_enqueue(*, account: ChannelAccount, callback_query_id: str) -> None:
    """Queue the answer so that it commits with the current transaction."""
    enqueue_many_with_commit(
        telegram_callback_answer_task, [(account.tenant_id, account.pk, callback_query_id)]
    )
