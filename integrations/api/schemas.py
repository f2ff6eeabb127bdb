"""The REST API v1's resources, as pydantic (django-ninja) schemas.

The output schemas are the contract of the API and of the outbound webhooks (their
payloads carry the same JSON: ``integrations.representations``). Ids are the rows' ids
in this service, stable for a row's life; the CRM's own ids travel in the ``crm_*`` fields.
Money is a decimal string (``"1250.00"``), times are ISO 8601 with their offset (UTC).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from quotes.services import MAX_LINES, MAX_QUANTITY

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1, description="The row's id in this service.")]
CrmId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


def _money(value: Any) -> Any:
    return None if value is None else str(value)


def _email(user: Any) -> str | None:
    return (user.email or None) if user is not None else None


class CompanyRef(Schema):
    id: int
    name: str
    crm_company_id: str | None


class DivisionRef(Schema):
    id: int
    name: str
    crm_division_id: str | None


class DivisionOut(Schema):
    """A company's division (a lab, a purchasing team): where its contacts work."""

    id: int
    company_id: int
    name: str
    crm_division_id: str | None
    created_at: datetime
    updated_at: datetime


class CompanyOut(Schema):
    """A customer company, with its divisions."""

    id: int
    name: str
    fiscal_id: str | None
    crm_company_id: str | None
    divisions: list[DivisionRef]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_divisions(obj: Any) -> list[Any]:
        return list(obj.divisions.all())


class ContactOut(Schema):
    """A person the agent talks to, with their company and division when known."""

    id: int
    crm_contact_id: str | None
    full_name: str
    email: str
    phone_number: str
    platform: str = Field(description="Where the contact first reached the agent.")
    platform_user_id: str | None
    problem_statement: str
    company: CompanyRef | None
    division: DivisionRef | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_company(obj: Any) -> Any:
        return obj.division.company if obj.division_id else None

    @staticmethod
    def resolve_division(obj: Any) -> Any:
        return obj.division if obj.division_id else None


class MessageOut(Schema):
    id: int
    role: Literal["user", "assistant", "system", "agent"] = Field(
        description="user: the customer; assistant: the AI agent; agent: a sales rep."
    )
    content: str
    author_name: str
    delivery_status: str
    created_at: datetime


class ConversationOut(Schema):
    """A conversation, without its messages (``GET /conversations/{id}`` has them)."""

    id: int
    contact_id: int
    channel: str
    status: Literal["active", "handed_off", "closed"]
    intent: str
    assigned_rep_email: str | None
    needs_attention: bool
    attention_reason: str
    summary: str
    last_activity_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_intent(obj: Any) -> str:
        return str(obj.intent_category)

    @staticmethod
    def resolve_assigned_rep_email(obj: Any) -> str | None:
        return _email(obj.assigned_rep)


class ConversationDetailOut(ConversationOut):
    messages: list[MessageOut]

    @staticmethod
    def resolve_messages(obj: Any) -> list[Any]:
        return list(obj.messages.all())


class RecommendationOut(Schema):
    """A product the agent recommends for an opportunity, and why."""

    id: int
    opportunity_id: int
    product_id: int | None
    product_sku: str
    product_name: str
    justification: str
    created_at: datetime
    updated_at: datetime


class OpportunityOut(Schema):
    """A qualified need of a contact, with the products recommended for it."""

    id: int
    contact_id: int
    conversation_id: int | None
    status: Literal["qualified", "needs_expert", "quoted", "won", "closed"] = Field(
        description="quoted: a quote was sent; won: the customer accepted a quote."
    )
    problem_statement: str
    assigned_rep_email: str | None
    value: str | None = Field(description="Expected deal value, a decimal string.")
    currency: str
    expected_close_date: date | None
    next_step: str
    crm_opportunity_id: str
    recommendations: list[RecommendationOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_assigned_rep_email(obj: Any) -> str | None:
        return _email(obj.assigned_rep)

    @staticmethod
    def resolve_value(obj: Any) -> str | None:
        return _money(obj.value)

    @staticmethod
    def resolve_recommendations(obj: Any) -> list[Any]:
        return list(obj.recommendations.all())


class ProductOut(Schema):
    """A catalog product (active ones only are searched)."""

    id: int
    sku: str
    name: str
    category: str
    brand: str
    price: str | None = Field(description="A decimal string, in ``currency``.")
    currency: str
    url: str
    description: str = Field(description="Readable text of the description and specs.")
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_price(obj: Any) -> str | None:
        return _money(obj.price)

    @staticmethod
    def resolve_description(obj: Any) -> str:
        return str(obj.clean_text)


class QuoteLineOut(Schema):
    """A quote's line: the SKU, name and unit price copied from the catalog when the line
    was added (a later catalog change never rewrites a quote)."""

    position: int
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: str = Field(description="A decimal string, in the quote's ``currency``.")
    discount_percent: str = Field(description="A rep's discount on the line, a decimal string.")
    line_total: str

    @staticmethod
    def resolve_unit_price(obj: Any) -> str:
        return str(obj.unit_price)

    @staticmethod
    def resolve_discount_percent(obj: Any) -> str:
        return str(obj.discount_percent)

    @staticmethod
    def resolve_line_total(obj: Any) -> str:
        return str(obj.line_total)


class QuoteOut(Schema):
    """A priced offer for an opportunity, from the catalog's prices only."""

    id: int
    key: str = Field(description="The quote's public key (its accept buttons carry it).")
    number: int
    reference: str = Field(description="How people name the quote: Q-00042.")
    opportunity_id: int
    contact_id: int
    conversation_id: int | None
    status: Literal["draft", "approved", "sent", "accepted", "rejected", "expired"]
    currency: str
    language: str = Field(description="The language of the PDF.")
    lines: list[QuoteLineOut]
    subtotal: str
    tax_rate: str = Field(description="Percent, a decimal string.")
    tax_amount: str
    total: str = Field(description="Subtotal plus tax, a decimal string.")
    valid_until: date
    notes: str
    created_by: Literal["agent", "rep", "integration"]
    created_by_name: str
    approved_at: datetime | None
    sent_at: datetime | None
    accepted_at: datetime | None
    rejected_at: datetime | None
    download_url: str = Field(
        description="The quote's PDF: a signed link that works for a limited time."
    )
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_key(obj: Any) -> str:
        return str(obj.public_key)

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_created_by(obj: Any) -> str:
        return str(obj.created_by_kind)

    @staticmethod
    def resolve_download_url(obj: Any) -> str:
        from quotes.links import quote_download_url

        return quote_download_url(obj)

    @staticmethod
    def resolve_subtotal(obj: Any) -> str:
        return str(obj.subtotal)

    @staticmethod
    def resolve_tax_rate(obj: Any) -> str:
        return str(obj.tax_rate)

    @staticmethod
    def resolve_tax_amount(obj: Any) -> str:
        return str(obj.tax_amount)

    @staticmethod
    def resolve_total(obj: Any) -> str:
        return str(obj.total)


class ProductHit(Schema):
    score: float
    product: ProductOut


T = TypeVar("T")


class Page(Schema, Generic[T]):
    """One page of a list. Pass ``next_cursor`` as ``cursor`` for the next page while
    ``has_more``; the last page's ``next_cursor`` also fetches what changes later."""

    items: list[T]
    next_cursor: str | None = Field(
        description="The position after this page's last item (null when the page is empty "
        "and no cursor was given)."
    )
    has_more: bool


class ContactPage(Page[ContactOut]):
    pass


class CompanyPage(Page[CompanyOut]):
    pass


class DivisionPage(Page[DivisionOut]):
    pass


class ConversationPage(Page[ConversationOut]):
    pass


class OpportunityPage(Page[OpportunityOut]):
    pass


class ProductPage(Page[ProductOut]):
    pass


class QuotePage(Page[QuoteOut]):
    pass


class SearchResults(Schema):
    items: list[ProductHit]


# Inputs ---------------------------------------------------------------------------------


class ContactUpsertIn(Schema):
    """The CRM's contact, created or updated by its ``crm_contact_id`` (in the path).

    Non-empty values overwrite ours; the company and division are found by their CRM ids,
    else by name, and created (or renamed) to match. A company without a division puts
    the contact in its "General" division.
    """

    model_config = ConfigDict(extra="forbid")

    full_name: Name | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    company: Name | None = None
    crm_company_id: CrmId | None = None
    division: Name | None = None
    crm_division_id: CrmId | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value:
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ValueError("not a valid e-mail address") from exc
        return value or None

    @model_validator(mode="after")
    def _division_needs_company(self) -> ContactUpsertIn:
        if self.division and not self.company:
            raise ValueError("division needs its company")
        return self


class OpportunityPatchIn(Schema):
    """The fields a CRM may change on an opportunity; absent fields stay as they are,
    ``null`` clears the nullable ones."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["qualified", "needs_expert", "closed"] | None = None
    assigned_rep_email: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None
    ) = Field(default=None, description="A member of this tenant; null unassigns.")
    crm_opportunity_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None
    ) = None
    value: Annotated[Decimal, Field(max_digits=14, decimal_places=2, ge=0)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = Field(
        default=None, description="ISO 4217 code, e.g. EUR."
    )
    expected_close_date: date | None = None
    next_step: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] | None = (
        None
    )


class QuoteLineIn(Schema):
    """A line as a CRM asks for it: a catalog SKU and a quantity. Never a price: the
    catalog sets it (a ``unit_price`` is refused like any unknown field)."""

    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class QuoteCreateIn(Schema):
    """A draft quote for one of this tenant's opportunities, priced from the catalog."""

    model_config = ConfigDict(extra="forbid")

    opportunity_id: RowId
    lines: Annotated[list[QuoteLineIn], Field(min_length=1, max_length=MAX_LINES)]
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = Field(
        default="", description="Printed under the quote's lines."
    )
