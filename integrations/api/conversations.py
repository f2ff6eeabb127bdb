"""Conversations (list with ``status`` and ``updated_since``; get with their messages).

A conversation's ``updated_at`` moves with every message stored in it, so a sync by
``updated_since`` (or the last cursor) finds the conversations that have new messages.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router

from crm.selectors import conversation_with_messages, conversations_of_tenant
from integrations.api.auth import request_account
from integrations.api.pagination import Cursor, Limit, UpdatedSince, page
from integrations.api.problems import ApiProblem
from integrations.api.schemas import ConversationDetailOut, ConversationPage, RowId

router = Router(tags=["conversations"])


@router.get("/conversations", response=ConversationPage, summary="List conversations")
def conversations_list(
    request: HttpRequest,
    status: Literal["active", "handed_off", "closed"] | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
    updated_since: UpdatedSince | None = None,
) -> dict[str, Any]:
    tenant = request_account(request).tenant
    rows, next_cursor, has_more = page(
        conversations_of_tenant(tenant=tenant, status=status),
        limit=limit,
        cursor=cursor,
        updated_since=updated_since,
    )
    return {"items": rows, "next_cursor": next_cursor, "has_more": has_more}


@router.get(
    "/conversations/{conversation_id}",
    response=ConversationDetailOut,
    summary="Get a conversation with its messages",
)
def conversations_get(request: HttpRequest, conversation_id: RowId) -> Any:
    tenant = request_account(request).tenant
    conversation = conversation_with_messages(tenant=tenant, conversation_id=conversation_id)
    if conversation is None:
        raise ApiProblem(404, "no such conversation in this tenant")
    return conversation
