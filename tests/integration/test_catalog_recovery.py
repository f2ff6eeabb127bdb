"""An upload whose worker died is queued again and finished; a task queued twice runs once."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from catalog.models import CatalogUpload, Product
from catalog.tasks import catalog_upload_process_task, catalog_uploads_requeue
from tenants.scoping import tenant_scope
from tests.factories import CatalogUploadFactory

# A real worker (manage.py worker) runs the tasks: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

CSV = b"sku,name,price\nHL-1,Turbidimetro TU-1,1250\nHL-2,Sonda de pH,99\n"


def run_worker() -> None:
    call_command("worker", "--batch", stdout=io.StringIO())


def upload_left_by(tenant, *, status, minutes_ago):
    with tenant_scope(tenant):
        upload = CatalogUploadFactory(tenant=tenant, status=status)
        upload.file.save("catalog.csv", io.BytesIO(CSV))
        CatalogUpload.objects.filter(pk=upload.pk).update(
            updated_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
    return upload


def test_an_upload_a_dead_worker_left_processing_is_queued_again_and_finished(
    tenant_a, tenant_b, catalog_index
):
    dead = upload_left_by(tenant_a, status=CatalogUpload.Status.PROCESSING, minutes_ago=30)
    lost = upload_left_by(tenant_b, status=CatalogUpload.Status.QUEUED, minutes_ago=30)
    running = upload_left_by(tenant_a, status=CatalogUpload.Status.PROCESSING, minutes_ago=1)

    assert catalog_uploads_requeue(stale_after=600) == 2
    tasks = {tuple(t.args_kwargs["args"]) for t in DBTaskResult.objects.all()}
    assert tasks == {(tenant_a.pk, dead.pk), (tenant_b.pk, lost.pk)}  # each in its tenant
    with tenant_scope(tenant_a):
        assert CatalogUpload.objects.get(pk=running.pk).status == CatalogUpload.Status.PROCESSING

    run_worker()

    with tenant_scope(tenant_a):
        finished = CatalogUpload.objects.get(pk=dead.pk)
        assert (finished.status, finished.created_count) == (CatalogUpload.Status.DONE, 2)
        assert set(Product.objects.values_list("sku", flat=True)) == {"HL-1", "HL-2"}
    with tenant_scope(tenant_b):
        assert CatalogUpload.objects.get(pk=lost.pk).status == CatalogUpload.Status.DONE
    assert catalog_uploads_requeue(stale_after=600) == 0  # nothing left behind


def test_an_upload_queued_twice_is_processed_once(tenant_a, catalog_index):
    upload = upload_left_by(tenant_a, status=CatalogUpload.Status.QUEUED, minutes_ago=0)
    catalog_upload_process_task.enqueue(tenant_a.pk, upload.pk)
    catalog_upload_process_task.enqueue(tenant_a.pk, upload.pk)

    run_worker()

    results = sorted(t.return_value for t in DBTaskResult.objects.all())
    assert results == ["done", "skipped"]
    with tenant_scope(tenant_a):
        assert CatalogUpload.objects.get(pk=upload.pk).created_count == 2
