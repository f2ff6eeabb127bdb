"""Background work of the desk: load by id, enter the tenant's scope, call the inbox."""

from __future__ import annotations

from django_tasks import task

from channels_app.inbox import reply_deliver
from channels_app.live import conversation_notify
from channels_app.tasks import conversation_answer_later
from crm.models import Message
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tenants.tasks import tenant_task


async def message_deliver(*, tenant: Tenant, message_id: int) -> bool:
    """Send a stored rep reply through the inbox (at most once), then tell the watchers of
    its conversation that its delivery status changed. True when it was sent now.

    A transient failure leaves the reply pending: the conversation runs again when its
    retry is due, and sends its pending replies in order."""
    with tenant_scope(tenant):
        delivered = await reply_deliver(message_id=message_id)
        conversation_id = await (
            Message.objects.filter(pk=message_id).values_list("conversation_id", flat=True).afirst()
        )
    if conversation_id is not None and delivered.retry_at is not None:
        await conversation_answer_later(tenant.pk, conversation_id, at=delivered.retry_at)
    if conversation_id is not None:
        await conversation_notify(
            tenant_id=tenant.pk, conversation_id=conversation_id, message_id=message_id
        )
    return delivered.ok


@task()
@tenant_task
async def message_deliver_task(tenant: Tenant, message_id: int) -> bool:
    """Deliver a rep's reply on its conversation's channel (a no-op once it was claimed)."""
    return await message_deliver(tenant=tenant, message_id=message_id)
