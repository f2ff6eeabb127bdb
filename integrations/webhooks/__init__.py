"""Signed outbound webhooks (issue 15): crm's domain events, delivered to the URLs a tenant
registered, at least once, signed, retried with backoff, logged.

* :mod:`~integrations.webhooks.events`: the event types offered and the payload of each.
* :mod:`~integrations.webhooks.signing`: the ``X-Signature`` header (Stripe's scheme).
* :mod:`~integrations.webhooks.safety`: which URLs and addresses may be called.
* :mod:`~integrations.webhooks.transport`: one signed POST, bounded, never redirected.
* :mod:`~integrations.webhooks.services`: every write (endpoints, deliveries, attempts).
* :mod:`~integrations.webhooks.tasks`: the worker's side and the queueing.
"""
