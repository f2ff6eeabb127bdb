"""Background work of the catalog: load by id, enter the tenant's scope, call a service."""

from __future__ import annotations

from django_tasks import task

from catalog.models import CatalogUpload
from catalog.services import catalog_upload_process
from tenants.models import Tenant
from tenants.scoping import tenant_scope


@task()
def catalog_upload_process_task(tenant_id: int, upload_id: int) -> str:
    tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_scope(tenant):
        upload = CatalogUpload.objects.filter(pk=upload_id).first()
        if upload is None or upload.status not in (
            CatalogUpload.Status.QUEUED,
            CatalogUpload.Status.PROCESSING,
        ):
            return "skipped"
        return catalog_upload_process(upload=upload).status
