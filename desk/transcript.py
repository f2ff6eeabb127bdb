"""A conversation's transcript as the desk shows it: the rows (the same as JSON for the
conversation page's live updates; static/desk/conversation.js builds rows alike, with
textContent) and one table for both pages that show it, ``templates/admin/desk/transcript.html``.

The conversation page's table is live (its wrapper names the socket and the JSON the script
keeps it current from); the opportunity page's is the table alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypedDict

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.models import Contact, Conversation, Message

SHOWN_LIMIT = 500  # the latest messages of a (very) long conversation
HEADER = (_("when"), _("who"), _("channel"), _("delivery"), _("message"))


class MessageRow(TypedDict):
    id: int
    role: str
    when: str
    who: str
    channel: str
    delivery: str
    delivery_status: str
    error: str
    text: str


def speaker(message: Message, customer: Contact) -> str:
    if message.role == Message.Role.USER:
        name = customer.full_name
        return gettext("Customer (%(name)s)") % {"name": name} if name else gettext("Customer")
    if message.role == Message.Role.AGENT:
        author = message.author_name or gettext("unknown")
        return gettext("Sales rep (%(name)s)") % {"name": author}
    return str(message.get_role_display())


def message_row(
    message: Message, conversation: Conversation, *, customer: Contact | None = None
) -> MessageRow:
    """The message as the transcript shows it; the customer's messages carry the name of
    ``customer``, the conversation's contact unless told."""
    failed = message.delivery_status == Message.Delivery.FAILED
    return {
        "id": message.pk,
        "role": message.role,
        "when": date_format(timezone.localtime(message.created_at), "Y-m-d H:i"),
        "who": speaker(message, customer or conversation.contact),
        "channel": str(conversation.get_channel_display()),
        "delivery": str(message.get_delivery_status_display()),
        "delivery_status": message.delivery_status,
        "error": message.delivery_error if failed else "",
        "text": message.content,
    }


def transcript_messages(conversation: Conversation) -> list[Message]:
    latest = conversation.messages.order_by("-created_at", "-pk")[:SHOWN_LIMIT]
    return list(reversed(latest))


def transcript_rows(
    conversation: Conversation,
    *,
    messages: Iterable[Message] | None = None,
    customer: Contact | None = None,
) -> list[MessageRow]:
    """The rows of ``messages`` (the conversation's latest unless told)."""
    shown = transcript_messages(conversation) if messages is None else messages
    return [message_row(m, conversation, customer=customer) for m in shown]


def transcript_table(
    rows: list[MessageRow], *, live: Mapping[str, object] | None = None
) -> SafeString:
    """The transcript's table, the values escaped by the template.

    ``live`` (the conversation page) become the ``data-*`` attributes of the table's wrapper
    (``ws_path`` as ``data-ws-path``) for the page's script; then every row carries its
    message id and delivery status, and an empty transcript still has the table the script
    adds rows to. Without it (the opportunity page) the table alone, or "No messages.".
    """
    attributes = [(name.replace("_", "-"), value) for name, value in (live or {}).items()]
    context = {"rows": rows, "header": HEADER, "live": attributes}
    return mark_safe(  # noqa: S308 - the template escapes every value
        render_to_string("admin/desk/transcript.html", context)
    )
