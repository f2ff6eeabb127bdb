"""Background work of the channels: load by id, enter the tenant's scope, call the inbox."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django_tasks import task

from channels_app.inbox import conversation_answer
from tenants.models import Tenant


@task()
def conversation_answer_task(tenant_id: int, conversation_id: int) -> int:
    """Answer the conversation's waiting messages (a no-op if another worker is on it)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return async_to_sync(conversation_answer)(tenant=tenant, conversation_id=conversation_id)
