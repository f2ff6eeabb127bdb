"""The durable inbox: every inbound message is stored before it is answered, and every
reply is sent exactly once. Four jobs, one module each:

* :mod:`~channels_app.inbox.store` and :mod:`~channels_app.inbox.events`: storing
  (a webhook's raw events in one insert; a worker resolves them into messages);
* :mod:`~channels_app.inbox.answer`: one turn at a time per conversation (a lease);
* :mod:`~channels_app.inbox.delivery`: sending, at most once, retries scheduled;
* :mod:`~channels_app.inbox.recovery`: what a crash left behind.

Nothing here enqueues: ``channels_app.tasks`` holds every task and every enqueue.
"""

from channels_app.inbox.answer import (
    Answered,
    conversation_answer,
    conversation_answer_run,
    has_waiting,
    lease_acquire,
    lease_release,
    lease_renew,
)
from channels_app.inbox.delivery import (
    Delivered,
    conversation_deliver,
    delivery_claim,
    delivery_finish,
    delivery_status_update,
    reply_deliver,
)
from channels_app.inbox.events import Stored, inbound_events_resolve, inbound_events_store
from channels_app.inbox.policy import ONLY_TEXT, only_text_reply
from channels_app.inbox.recovery import PendingWork, inbox_pending_work
from channels_app.inbox.store import (
    Inbound,
    inbound_store,
    inbound_store_unsupported,
    route_ensure,
)

__all__ = [
    "ONLY_TEXT",
    "Answered",
    "Delivered",
    "Inbound",
    "PendingWork",
    "Stored",
    "conversation_answer",
    "conversation_answer_run",
    "conversation_deliver",
    "delivery_claim",
    "delivery_finish",
    "delivery_status_update",
    "has_waiting",
    "inbound_events_resolve",
    "inbound_events_store",
    "inbound_store",
    "inbound_store_unsupported",
    "inbox_pending_work",
    "lease_acquire",
    "lease_release",
    "lease_renew",
    "only_text_reply",
    "reply_deliver",
    "route_ensure",
]
