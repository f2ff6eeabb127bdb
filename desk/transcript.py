"""A conversation's transcript as the desk shows it: an HTML table, and the same rows as JSON
for the page's live updates (static/desk/conversation.js builds rows alike, with textContent).
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from crm.models import Conversation, Message

SHOWN_LIMIT = 500  # the latest messages of a (very) long conversation
HEADER = ("when", "who", "channel", "delivery", "message")


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


def speaker(message: Message, conversation: Conversation) -> str:
    if message.role == Message.Role.USER:
        name = conversation.contact.full_name
        return f"Customer ({name})" if name else "Customer"
    if message.role == Message.Role.AGENT:
        return f"Sales rep ({message.author_name or 'unknown'})"
    return str(message.get_role_display())


def message_row(message: Message, conversation: Conversation) -> MessageRow:
    failed = message.delivery_status == Message.Delivery.FAILED
    return {
        "id": message.pk,
        "role": message.role,
        "when": date_format(timezone.localtime(message.created_at), "Y-m-d H:i"),
        "who": speaker(message, conversation),
        "channel": str(conversation.get_channel_display()),
        "delivery": str(message.get_delivery_status_display()),
        "delivery_status": message.delivery_status,
        "error": message.delivery_error if failed else "",
        "text": message.content,
    }


def transcript_messages(conversation: Conversation) -> list[Message]:
    latest = conversation.messages.order_by("-created_at", "-pk")[:SHOWN_LIMIT]
    return list(reversed(latest))


def transcript_rows(conversation: Conversation) -> list[MessageRow]:
    return [message_row(m, conversation) for m in transcript_messages(conversation)]


def _delivery_cell(row: MessageRow) -> SafeString:
    if row["error"]:
        return format_html('{}<br><span class="errornote">{}</span>', row["delivery"], row["error"])
    return format_html("{}", row["delivery"])


def transcript_table(rows: list[MessageRow], **data: Any) -> SafeString:
    """The table; ``data`` become ``data-*`` attributes of its wrapper (for the script)."""
    attributes = format_html_join(
        " ", 'data-{}="{}"', ((k.replace("_", "-"), v) for k, v in data.items())
    )
    head = format_html_join("", "<th>{}</th>", ((h,) for h in HEADER))
    body = format_html_join(
        "",
        '<tr class="desk-role-{}" data-message-id="{}" data-delivery="{}"><td>{}</td><td>{}</td>'
        '<td>{}</td><td class="desk-delivery">{}</td><td class="desk-text">{}</td></tr>',
        (
            (
                r["role"],
                r["id"],
                r["delivery_status"],
                r["when"],
                r["who"],
                r["channel"],
                _delivery_cell(r),
                r["text"],
            )
            for r in rows
        ),
    )
    empty = "" if rows else format_html('<p class="desk-empty">{}</p>', "No messages yet.")
    return format_html(
        '<div id="desk-transcript" {}><table class="desk-table"><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table>{}"
        '<p class="desk-live-status help" aria-live="polite"></p></div>',
        attributes,
        head,
        body,
        empty,
    )
