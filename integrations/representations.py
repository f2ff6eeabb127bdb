"""The JSON of each CRM resource as the REST API v1 shows it: the one contract shared by
the API (``integrations.api``) and the outbound webhooks' payloads.

Each function takes a row (loaded in its tenant's scope) and returns exactly the JSON
object (``mode="json"``: strings for times and decimals) that ``GET`` of that resource
returns. Callers hold the tenant scope; related rows are read when not prefetched.
"""

from __future__ import annotations

from typing import Any

from crm.models import (
    Company,
    Contact,
    Conversation,
    LeadOpportunity,
    OpportunityProductRecommendation,
)
from integrations.api.schemas import (
    CompanyOut,
    ContactOut,
    ConversationOut,
    OpportunityOut,
    QuoteOut,
    RecommendationOut,
)
from quotes.models import Quote


def contact_resource(contact: Contact) -> dict[str, Any]:
    """``GET /api/v1/contacts/{id}``."""
    return ContactOut.model_validate(contact).model_dump(mode="json")


def company_resource(company: Company) -> dict[str, Any]:
    """``GET /api/v1/companies/{id}`` (with its divisions)."""
    return CompanyOut.model_validate(company).model_dump(mode="json")


def conversation_resource(conversation: Conversation) -> dict[str, Any]:
    """An item of ``GET /api/v1/conversations``: the conversation without its messages."""
    return ConversationOut.model_validate(conversation).model_dump(mode="json")


def opportunity_resource(opportunity: LeadOpportunity) -> dict[str, Any]:
    """``GET /api/v1/opportunities/{id}`` (with its recommendations)."""
    return OpportunityOut.model_validate(opportunity).model_dump(mode="json")


def recommendation_resource(recommendation: OpportunityProductRecommendation) -> dict[str, Any]:
    """An item of an opportunity's ``recommendations``."""
    return RecommendationOut.model_validate(recommendation).model_dump(mode="json")


def quote_resource(quote: Quote) -> dict[str, Any]:
    """``GET /api/v1/quotes/{id}`` (with its lines and a fresh signed link to its PDF)."""
    return QuoteOut.model_validate(quote).model_dump(mode="json")
