"""Background work of the desk: load by id, enter the tenant's scope, call the inbox."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django_tasks import task

from channels_app.inbox import reply_deliver
from channels_app.live import conversation_notify
from crm.models import Message
from tenants.models import Tenant
from tenants.scoping import tenant_scope


async def message_deliver(*, tenant: Tenant, message_id: int) -> bool:
    """Send a stored rep reply through the inbox (at most once), then tell the watchers of
    its conversation that its delivery status changed. True when it was sent now."""
    with tenant_scope(tenant):
        sent = await reply_deliver(message_id=message_id)
        conversation_id = await (
            Message.objects.filter(pk=message_id).values_list("conversation_id", flat=True).afirst()
        )
    if conversation_id is not None:
        await conversation_notify(
            tenant_id=tenant.pk, conversation_id=conversation_id, message_id=message_id
        )
    return sent


@task()
def message_deliver_task(tenant_id: int, message_id: int) -> bool:
    """Deliver a rep's reply on its conversation's channel (a no-op once it was claimed)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return async_to_sync(message_deliver)(tenant=tenant, message_id=message_id)
