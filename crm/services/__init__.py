"""Every write of the CRM record: companies, divisions, contacts, conversations, messages,
opportunities and recommendations. Other apps change them only through these functions
(``tests/unit/test_write_owners.py`` keeps it so); each records its changes in the audit
trail (``crm.audit``) and publishes domain events after the commit (``crm.events``).

Callers hold the tenant's scope and pass the tenant (or rows of it), and say who acts
(:class:`crm.audit.Actor`: a rep, the agent, an integration, the system).
"""

from crm.services.contacts import (
    DEFAULT_DIVISION,
    company_ensure,
    contact_edit,
    contact_get_or_create_for_platform,
    contact_link_division,
    contact_update,
    contact_upsert_from_crm,
    division_ensure,
)
from crm.services.conversations import (
    conversation_assign,
    conversation_close,
    conversation_edit,
    conversation_flag,
    conversation_hand_back,
    conversation_hand_off,
    conversation_lease_acquire,
    conversation_lease_release,
    conversation_lease_renew,
    conversation_lock_for,
    conversation_open,
    conversation_refusal,
    conversation_start,
    conversation_take_over,
    conversation_take_over_locked,
    conversation_usage_add,
)
from crm.services.messages import (
    message_add,
    message_failed,
    message_retry_later,
    message_sending_claim,
    message_sent,
    message_status_from_platform,
    messages_mark_handled,
)
from crm.services.opportunities import (
    opportunity_assign,
    opportunity_create,
    opportunity_edit,
    opportunity_register,
    opportunity_status_set,
    recommendation_record,
)
from crm.services.privacy import contact_erase, contact_export
from crm.services.records import (
    record_save,
    records_hard_delete,
    records_restore,
    records_soft_delete,
)

__all__ = [
    "DEFAULT_DIVISION",
    "company_ensure",
    "contact_edit",
    "contact_erase",
    "contact_export",
    "contact_get_or_create_for_platform",
    "contact_link_division",
    "contact_update",
    "contact_upsert_from_crm",
    "conversation_assign",
    "conversation_close",
    "conversation_edit",
    "conversation_flag",
    "conversation_hand_back",
    "conversation_hand_off",
    "conversation_lease_acquire",
    "conversation_lease_release",
    "conversation_lease_renew",
    "conversation_lock_for",
    "conversation_open",
    "conversation_refusal",
    "conversation_start",
    "conversation_take_over",
    "conversation_take_over_locked",
    "conversation_usage_add",
    "division_ensure",
    "message_add",
    "message_failed",
    "message_retry_later",
    "message_sending_claim",
    "message_sent",
    "message_status_from_platform",
    "messages_mark_handled",
    "opportunity_assign",
    "opportunity_create",
    "opportunity_edit",
    "opportunity_register",
    "opportunity_status_set",
    "recommendation_record",
    "record_save",
    "records_hard_delete",
    "records_restore",
    "records_soft_delete",
]
