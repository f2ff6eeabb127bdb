"""``manage.py add_webhook``: the endpoint's id and secret, printed once; bad input refused.
``manage.py webhook_recover``: overdue deliveries queued again."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from integrations.models import WebhookEndpoint
from tenants.scoping import tenant_scope
from tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("add_webhook", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_id_and_the_secret_once(tenant_a):
    out = run(
        "alpha",
        "https://crm.alpha.example/hooks",
        "--event",
        "contact.created",
        "--event",
        "opportunity.updated",
        "--json",
    )
    summary = json.loads(out)
    with tenant_scope(tenant_a):
        endpoint = WebhookEndpoint.objects.get()
    assert summary == {
        "tenant": "alpha",
        "id": endpoint.pk,
        "url": "https://crm.alpha.example/hooks",
        "events": ["contact.created", "opportunity.updated"],
        "secret": endpoint.secret,
    }
    assert endpoint.secret.startswith("whsec_")
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT secret FROM integrations_webhookendpoint")
        [(stored,)] = cursor.fetchall()
    assert endpoint.secret not in stored

    text = run("alpha", "https://crm.alpha.example/other", "--event", "contact.updated")
    assert "signing secret (shown once, store it): whsec_" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "https://crm.example.com/", "--event", "contact.created"], "No tenant"),
        (["alpha", "https://crm.example.com/", "--event", "quote.signed"], "Unknown event"),
        (["alpha", "ftp://crm.example.com/", "--event", "contact.created"], "http"),
        (["alpha", "not a url", "--event", "contact.created"], "URL"),
    ],
)
def test_bad_input_is_refused_with_the_reason(tenant_a, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    with tenant_scope(tenant_a):
        assert not WebhookEndpoint.objects.exists()


def test_private_urls_are_refused_in_production(tenant_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    with pytest.raises(CommandError, match="loopback"):
        run("alpha", "http://127.0.0.1:9000/hooks", "--event", "contact.created")


def test_webhook_recover_queues_overdue_deliveries(tenant_a):
    with tenant_scope(tenant_a):
        overdue = WebhookDeliveryFactory(
            tenant=tenant_a,
            status="pending",
            next_attempt_at=timezone.now() - timedelta(minutes=10),
        )
        WebhookDeliveryFactory(tenant=tenant_a, status="pending", next_attempt_at=timezone.now())
        WebhookDeliveryFactory(tenant=tenant_a, status="succeeded")
    out = StringIO()
    call_command("webhook_recover", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"requeued": 1}
    [queued] = DBTaskResult.objects.all()
    assert queued.args_kwargs["args"] == [tenant_a.pk, overdue.pk]
