"""The audit trail as the desk shows it on the opportunity and conversation pages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from crm.audit import Action, action_label
from crm.models import AuditEntry, Conversation, LeadOpportunity
from quotes.models import Quote

STATUS_LABELS = {
    **dict(LeadOpportunity.Status.choices),
    **dict(Conversation.Status.choices),
}
# The entries whose from/to values are statuses, shown with their labels.
STATUS_ACTIONS = {
    Action.OPPORTUNITY_STATUS_CHANGED,
    Action.OPPORTUNITY_CREATED,
    Action.CONVERSATION_TAKEN_OVER,
    Action.CONVERSATION_HANDED_OFF,
    Action.CONVERSATION_HANDED_BACK,
    Action.CONVERSATION_CLOSED,
    Action.CONVERSATION_REOPENED,
}

# A quote's entries (but an edit, whose from/to are totals) go between quote statuses.
QUOTE_STATUS_ACTIONS = {
    Action.QUOTE_CREATED,
    Action.QUOTE_APPROVED,
    Action.QUOTE_SENT,
    Action.QUOTE_ACCEPTED,
    Action.QUOTE_REJECTED,
    Action.QUOTE_EXPIRED,
}
QUOTE_STATUS_LABELS = dict(Quote.Status.choices)


def _value(entry: AuditEntry, value: str) -> str:
    if entry.action in STATUS_ACTIONS:
        return str(STATUS_LABELS.get(value, value))
    if entry.action in QUOTE_STATUS_ACTIONS:
        return str(QUOTE_STATUS_LABELS.get(value, value))
    return value


def _quote_lines(value: Any) -> Any:
    """A quote edit's lines ``[[sku, quantity, discount], ...]`` as people read them:
    "2 x HL-TUR-5200, 3 x RE-FOR-4000 (-10 %)"."""
    if not isinstance(value, list) or not all(
        isinstance(line, list) and len(line) == 3 for line in value
    ):
        return value
    shown = []
    for sku, quantity, discount in value:
        try:
            off = Decimal(str(discount))
        except InvalidOperation:
            off = Decimal("0")
        text = f"{quantity} x {sku}"
        shown.append(f"{text} (-{off.normalize():f} %)" if off else text)
    return ", ".join(shown)


def _change(entry: AuditEntry, name: str, pair: list[Any]) -> tuple[str, Any, Any]:
    if entry.action == Action.QUOTE_UPDATED and name == "lines":
        return name, _quote_lines(pair[0]), _quote_lines(pair[1])
    return name, pair[0], pair[1]


def audit_rows(entries: list[AuditEntry]) -> list[dict[str, object]]:
    return [
        {
            "when": entry.created_at,
            "who": entry.actor_name or entry.get_actor_kind_display(),
            "kind": entry.actor_kind,
            "kind_label": entry.get_actor_kind_display(),
            "what": action_label(entry.action),
            "from": _value(entry, entry.from_value),
            "to": _value(entry, entry.to_value),
            "changes": [
                _change(entry, name, pair)
                for name, pair in (entry.changes or {}).items()
                if name not in ("status",) and isinstance(pair, list) and len(pair) == 2
            ],
            "note": entry.note,
        }
        for entry in entries
    ]


def audit_trail_table(entries: list[AuditEntry]) -> SafeString:
    return mark_safe(  # noqa: S308 - the template escapes every value
        render_to_string("admin/desk/audit_trail.html", {"rows": audit_rows(entries)})
    )
