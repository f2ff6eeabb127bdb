"""The turn: take a conversation's waiting customer messages and produce the next reply.

:func:`respond` (async) prepares the turn (``agent.context``), runs the model
with tools up to ``AGENT_MAX_TOOL_STEPS`` steps, and commits the reply, the
tools' staged effects, the usage of every LLM call and the "taken" mark on the
customer messages in one transaction (:func:`turn_commit`). When the LLM cannot
answer (no key, errors after the SDK's retries, a turn past
``LLM_TURN_TIMEOUT``) the reply comes from the catalog (``agent.fallback``) and
the conversation is flagged for a rep; with no key configured, the fallback first waits
until the customer pauses (``AGENT_FALLBACK_SETTLE_SECONDS``), so a burst of messages gets
one reply. The fallback's effects (contact details, opportunity, handoff) are committed like
the tools' ones.

Exactly once: the commit claims the customer messages it answered; if another
turn claimed them first, this one stores nothing. A conversation a rep took
over during the turn gets no bot reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agent.context import TurnInput, TurnLoad, turn_build, turn_load
from agent.fallback import fallback_respond, settle_seconds
from agent.llm import LLMUnavailable, Step, TokenCallback, chat_step, llm_configured
from agent.models import LLMCall
from agent.tools import TOOL_SCHEMAS, TurnState, run_tool, tool_prefetch
from catalog.search import search_prefetch
from crm.audit import Actor
from crm.models import Contact, Conversation, LeadOpportunity, Message
from crm.services import (
    contact_update,
    conversation_flag,
    conversation_hand_off,
    conversation_usage_add,
    message_add,
    messages_mark_handled,
    opportunity_edit,
    opportunity_register,
    recommendation_record,
)
from quotes.models import Quote
from quotes.services import QuoteRefused, quote_prepare, quote_send
from tenants.models import Tenant
from tenants.scoping import tenant_scope

logger = logging.getLogger(__name__)

AGENT = Actor.agent()


@dataclass
class TurnResult:
    reply: str
    mode: str  # "llm" or "fallback"
    message: Message | None = None
    handed_off: bool = False
    reason: str = ""  # why the fallback answered
    steps: list[Step] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # stored with the reply
    quote: Quote | None = None  # the quote the turn prepared (and sent, when allowed)


async def respond(
    conversation: Conversation, *, on_token: TokenCallback | None = None
) -> TurnResult | None:
    """Answer the conversation's waiting customer messages; None when there is nothing to say.

    With ``on_token`` the model's text is streamed to it as it comes (a fallback
    reply arrives as one piece); the stored reply is ``TurnResult.reply``.
    """
    tenant = await Tenant.objects.aget(pk=conversation.tenant_id)
    with tenant_scope(tenant):
        loaded = await sync_to_async(turn_load)(tenant=tenant, conversation_id=conversation.pk)
        if loaded is None:
            return None
        if not llm_configured():
            loaded = await _settle(tenant, conversation.pk, loaded)
            if loaded is None:
                return None
        if settings.AGENT_RETRIEVED_PRODUCTS > 0:
            # Embedded off the database thread, in one model pass with concurrent turns.
            await search_prefetch(tenant=tenant, query=loaded.query)
        turn = await sync_to_async(turn_build)(tenant=tenant, loaded=loaded)
        result = await _run(turn, on_token)
        if result.mode == "fallback" and on_token is not None and not result.steps_streamed:
            await on_token(result.reply)
        stored = await sync_to_async(turn_commit)(turn=turn, result=result)
    logger.info(
        "turn conversation=%s mode=%s steps=%d stored=%s%s",
        conversation.pk,
        result.mode,
        len(result.steps),
        stored is not None,
        f" reason={result.reason}" if result.reason else "",
    )
    return stored


async def _settle(tenant: Tenant, conversation_id: int, loaded: TurnLoad) -> TurnLoad | None:
    """Wait until the newest waiting message is ``settle_seconds()`` old (at most four times
    that in all), then read the waiting messages again: a burst is answered once."""
    settle = settle_seconds()
    deadline = time.monotonic() + 4 * settle
    current: TurnLoad | None = loaded
    while current is not None:
        newest = max(m.created_at for m in current.pending)
        wait = min(settle - (timezone.now() - newest).total_seconds(), deadline - time.monotonic())
        if wait <= 0:
            return current
        await asyncio.sleep(wait)
        current = await sync_to_async(turn_load)(tenant=tenant, conversation_id=conversation_id)
    return None


@dataclass
class _Outcome(TurnResult):
    steps_streamed: bool = False


async def _run(turn: TurnInput, on_token: TokenCallback | None) -> _Outcome:
    if not llm_configured():
        return await _fallback(turn, "no LLM API key configured", [])
    steps: list[Step] = []
    failed: list[Step] = []
    parts: list[str] = []
    streamed = False

    async def forward(text: str) -> None:
        nonlocal streamed
        streamed = True
        await on_token(text)  # type: ignore[misc]

    messages = [{"role": "system", "content": turn.system_prompt}, *turn.history]
    max_steps = max(1, settings.AGENT_MAX_TOOL_STEPS)
    try:
        async with asyncio.timeout(settings.LLM_TURN_TIMEOUT):
            for number in range(max_steps):
                last = number == max_steps - 1
                step = await chat_step(
                    messages=messages,
                    tools=[] if last else TOOL_SCHEMAS,  # the last step must answer in text
                    on_token=forward if on_token else None,
                    failed=failed,
                )
                steps.append(step)
                if step.content.strip():
                    parts.append(step.content.strip())
                if not step.tool_calls:
                    break
                messages.append(step.as_message())
                for call in step.tool_calls:
                    await tool_prefetch(turn.state, call.name, call.arguments)
                    output, _ = await sync_to_async(run_tool)(turn.state, call.name, call.arguments)
                    messages.append(
                        {
                            "role": "tool",
                            "tool_call_id": call.id,
                            "content": json.dumps(output, ensure_ascii=False, default=str),
                        }
                    )
    except LLMUnavailable as exc:
        return await _fallback(turn, f"LLM failed: {exc}", steps + failed, streamed)
    except TimeoutError:
        reason = f"LLM turn timed out after {settings.LLM_TURN_TIMEOUT:g} s"
        return await _fallback(turn, reason, steps + failed, streamed)
    reply = "\n\n".join(parts).strip()
    if not reply:
        return await _fallback(turn, "the LLM gave no text answer", steps, streamed)
    return _Outcome(
        reply=reply,
        mode="llm",
        handed_off=bool(turn.state.handoff_reason),
        steps=steps,
        steps_streamed=streamed,
    )


async def _fallback(
    turn: TurnInput, reason: str, steps: list[Step], streamed: bool = False
) -> _Outcome:
    # With no key configured the fallback is the agent (INFO); an LLM that failed is news.
    level = logging.INFO if not llm_configured() else logging.WARNING
    logger.log(level, "fallback reply for conversation %s: %s", turn.state.conversation.pk, reason)
    answer = await sync_to_async(fallback_respond)(turn)
    return _Outcome(
        reply=answer.text,
        mode="fallback",
        reason=reason,
        steps=steps,
        steps_streamed=streamed,
        metadata=answer.metadata,
        handed_off=bool(turn.state.handoff_reason),
    )


def turn_commit(*, turn: TurnInput, result: TurnResult) -> TurnResult | None:
    """Store the reply and everything the turn decided, together. The caller holds the scope."""
    state = turn.state
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=state.conversation.pk)
        conversation.tenant = state.tenant
        claimed = messages_mark_handled(message_ids=turn.pending_ids)
        if claimed != len(turn.pending_ids):
            # Another turn answered (some of) these messages first: store nothing.
            transaction.set_rollback(True)
            logger.warning("conversation %s: turn lost the race, reply dropped", conversation.pk)
            return None
        on_bot = conversation.status == Conversation.Status.ACTIVE
        message = None
        quote = None
        if on_bot:
            # A fallback staged its own effects (an LLM's that failed were dropped).
            if state.has_effects:
                quote = _apply_effects(state, conversation)
            message = message_add(
                conversation=conversation,
                role=Message.Role.ASSISTANT,
                content=result.reply,
                answer_mode=result.mode,
                # The reply that announces a handoff goes out although the bot is done.
                metadata={**result.metadata, "handoff": True}
                if state.handoff_reason
                else result.metadata or None,
            )
            sends = state.tenant.quotes_send_without_approval and not state.handoff_reason
            if quote is not None and sends:
                # After the reply that announces it: the document and its Accept button last.
                # A turn that hands off leaves the draft to the rep who takes over.
                _quote_send(quote, conversation)
        _record_usage(state.tenant, conversation, message, result.steps)
        if on_bot and result.mode == "fallback" and not state.handoff_reason:
            conversation_flag(
                conversation=conversation,
                reason=state.flag_reason or f"fallback answer ({result.reason})",
                actor=AGENT,
            )
        if on_bot and state.handoff_reason:
            conversation_hand_off(
                conversation=conversation, reason=state.handoff_reason, actor=AGENT
            )
    if not on_bot:
        logger.info("conversation %s was taken by a rep during the turn", conversation.pk)
        return None
    result.message = message
    result.quote = quote
    return result


def _record_usage(
    tenant: Tenant, conversation: Conversation, message: Message | None, steps: list[Step]
) -> None:
    if not steps:
        return
    LLMCall.objects.bulk_create(
        [
            LLMCall(
                tenant=tenant,
                conversation=conversation,
                message=message,
                model=step.model[:100],
                streamed=step.streamed,
                prompt_tokens=step.prompt_tokens,
                completion_tokens=step.completion_tokens,
                duration_ms=step.duration_ms,
                outcome=LLMCall.Outcome.ERROR if step.error else LLMCall.Outcome.OK,
                error=step.error[:500],
            )
            for step in steps
        ]
    )
    conversation_usage_add(
        conversation_id=conversation.pk,
        prompt_tokens=sum(s.prompt_tokens for s in steps),
        completion_tokens=sum(s.completion_tokens for s in steps),
    )


def _apply_effects(state: TurnState, conversation: Conversation) -> Quote | None:
    """Store what the turn's tools decided, through the CRM's services (as the agent);
    returns the quote it prepared."""
    contact = Contact.objects.select_related("division__company").get(pk=state.contact.pk)
    contact.tenant = state.tenant
    if state.contact_changes or state.company_name or state.division_name:
        contact_update(
            contact=contact,
            actor=AGENT,
            changes=state.contact_changes,
            company_name=state.company_name,
            division_name=state.division_name,
        )
    opportunity = state.open_opportunity()
    if state.opportunity:
        opportunity, _ = opportunity_register(
            contact=contact, conversation=conversation, actor=AGENT, **state.opportunity
        )
        if state.opportunity_values:
            for name, value in state.opportunity_values.items():
                setattr(opportunity, name, value)
            opportunity_edit(
                opportunity=opportunity,
                changed=list(state.opportunity_values),
                actor=AGENT,
                created=False,
            )
    for product, justification in state.recommendations.values():
        if opportunity is None:
            break
        recommendation_record(
            opportunity=opportunity, product=product, justification=justification, actor=AGENT
        )
    if state.quote is None:
        return None
    if not state.opportunity:
        opportunity = state.quotable_opportunity()
    if opportunity is None or opportunity.status in _NOT_QUOTABLE:
        conversation_flag(
            conversation=conversation,
            reason="the agent's quote was not saved: the opportunity is no longer open",
            actor=AGENT,
        )
        return None
    try:
        with transaction.atomic():  # a refusal leaves the rest of the turn standing
            return quote_prepare(
                opportunity=opportunity,
                lines=state.quote.lines,
                actor=AGENT,
                notes=state.quote.notes,
                conversation=conversation,
            )
    except QuoteRefused as exc:  # the catalog changed since the tool checked the lines
        conversation_flag(
            conversation=conversation,
            reason=f"the agent's quote was not saved: {exc.message}",
            actor=AGENT,
        )
        return None


_NOT_QUOTABLE = (LeadOpportunity.Status.CLOSED, LeadOpportunity.Status.WON)


def _quote_send(quote: Quote, conversation: Conversation) -> None:
    """Send the draft at once (the tenant allows it): the turn delivers it with the reply."""
    try:
        with transaction.atomic():
            quote_send(quote=quote, actor=AGENT)
    except QuoteRefused as exc:
        conversation_flag(
            conversation=conversation,
            reason=f"{quote.reference} was not sent: {exc.message}",
            actor=AGENT,
        )
