"""Background work of the catalog: reload the tenant, enter its scope, call a service."""

from __future__ import annotations

from django.conf import settings
from django_tasks import task

from catalog.models import CatalogUpload
from catalog.services import catalog_upload_claim, catalog_upload_process, catalog_uploads_recover
from tenants.models import Tenant
from tenants.tasks import tenant_task


@task()
@tenant_task
def catalog_upload_process_task(tenant: Tenant, upload_id: int) -> str:
    if not catalog_upload_claim(upload_id=upload_id):
        return "skipped"  # another worker has it, or it is finished
    upload = CatalogUpload.objects.get(pk=upload_id)
    return catalog_upload_process(upload=upload).status


def catalog_uploads_requeue(*, stale_after: float | None = None) -> int:
    """Queue again the uploads a dead worker left behind (see ``catalog_uploads_recover``)."""
    seconds = settings.CATALOG_UPLOAD_STALE_SECONDS if stale_after is None else stale_after
    recovered = catalog_uploads_recover(stale_after=seconds)
    for tenant_id, upload_id in recovered:
        catalog_upload_process_task.enqueue(tenant_id, upload_id)
    return len(recovered)
