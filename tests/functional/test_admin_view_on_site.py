"""The admin's "view on site" shortcut (``/admin/r/<content type>/<id>/``, issue 13): a
404 for every member and operator, never a 500, for a malformed id, a model the user may
not view, another tenant's object or one without a page on the site."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django_tasks_db.models import DBTaskResult

from crm.models import Conversation
from tests.conftest import TenantRows

pytestmark = pytest.mark.django_db


def shortcut(model: type, object_id: object) -> str:
    return f"/admin/r/{ContentType.objects.get_for_model(model).pk}/{object_id}/"


@pytest.fixture
def task_result() -> DBTaskResult:
    from channels_app.tasks import inbound_resolve_enqueue_many

    inbound_resolve_enqueue_many([(1, 1, "address")])
    return DBTaskResult.objects.get()


@pytest.mark.parametrize("who", ["owner", "teammate", "operator"])
def test_view_on_site_is_a_404_never_a_500(
    client, request, who, task_result, rows_a: TenantRows, rows_b: TenantRows
):
    client.raise_request_exception = False
    client.force_login(request.getfixturevalue(who))
    urls = [
        shortcut(DBTaskResult, 1),  # not a UUID: Django's shortcut raised ValidationError
        shortcut(DBTaskResult, "abc"),
        shortcut(DBTaskResult, uuid.uuid4()),
        shortcut(DBTaskResult, task_result.pk),  # exists, no page on the site
        shortcut(Conversation, rows_b[Conversation].pk),  # another tenant's (for members)
        shortcut(Conversation, rows_a[Conversation].pk),  # no page on the site
        shortcut(Conversation, "x"),
        "/admin/r/999999/1/",
        "/admin/r/abc/1/",
    ]

    statuses = {url: client.get(url).status_code for url in urls}

    assert statuses == dict.fromkeys(urls, 404)


def test_view_on_site_asks_an_anonymous_visitor_to_log_in(client):
    response = client.get(shortcut(DBTaskResult, "abc"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
