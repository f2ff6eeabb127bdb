"""The audit trail as the desk shows it on the opportunity and conversation pages."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from crm.audit import Action, action_label
from crm.models import AuditEntry, Conversation, LeadOpportunity

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


def _value(entry: AuditEntry, value: str) -> str:
    if entry.action in STATUS_ACTIONS:
        return str(STATUS_LABELS.get(value, value))
    return value


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
                (name, pair[0], pair[1])
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
