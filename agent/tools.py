"""The agent's tools: their schemas for the model, argument validation, and execution.

Every tool runs in the conversation's tenant (``TurnState.tenant``, with its
scope active); no tool takes a tenant, and unknown arguments are refused, so the
model cannot point a tool at another tenant's data.

Tools that write do not write yet: they stage their effect on the
:class:`TurnState`, and the turn commits the effects together with the reply
in one transaction (``agent.services``). A turn that fails leaves nothing half
done, and its customer messages are answered again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as ArgumentsError

from catalog.models import Product
from catalog.search import search, search_prefetch
from crm.models import Contact, Conversation, LeadOpportunity
from quotes.models import Quote
from quotes.services import MAX_LINES, MAX_QUANTITY, LineRequest, QuoteRefused, quote_preview
from tenants.models import Tenant

logger = logging.getLogger(__name__)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchCatalogArgs(Args):
    """Search the catalog for products matching a need, a model number or a SKU."""

    query: Annotated[Text, StringConstraints(max_length=300)]
    category: Annotated[str, StringConstraints(max_length=200)] | None = None


class GetProductArgs(Args):
    """Get one product of the catalog by its SKU, with its full description."""

    sku: Annotated[Text, StringConstraints(max_length=128)]


class SaveContactInfoArgs(Args):
    """Save what the customer said about themselves: name, e-mail, phone, company, area."""

    full_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = (
        None
    )
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    company: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    division: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = (
        Field(default=None, description="The customer's area or department, e.g. 'Lab Aguas'.")
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value:
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ValueError(f"{value!r} is not a valid e-mail address") from exc
        return value or None

    @model_validator(mode="after")
    def _something(self) -> SaveContactInfoArgs:
        if not any(getattr(self, name) for name in type(self).model_fields):
            raise ValueError("give at least one field")
        return self


class RegisterOpportunityArgs(Args):
    """Create or update the sales opportunity of this conversation once the need is clear."""

    problem_statement: Annotated[Text, StringConstraints(min_length=10, max_length=4000)] = Field(
        description="The customer's need, in a sentence or three a sales rep can act on."
    )
    status: Literal["qualified", "needs_expert"] = Field(
        default="qualified",
        description="needs_expert when a specialist must design the solution.",
    )


class Recommendation(Args):
    sku: Annotated[Text, StringConstraints(max_length=128)]
    justification: Annotated[Text, StringConstraints(min_length=5, max_length=1000)] = Field(
        description="Why this product fits the customer's need."
    )


class RecommendProductsArgs(Args):
    """Recommend catalog products for the opportunity, each with its justification."""

    products: list[Recommendation] = Field(min_length=1, max_length=10)


# Keys a model may try to put on a quote or a line: prices come from the catalog only.
PRICE_KEYS = frozenset(
    {"price", "unit_price", "cost", "amount", "subtotal", "total", "tax", "discount", "currency"}
)


def _refuse_prices(data: Any) -> Any:
    if isinstance(data, dict):
        given = [
            str(k)
            for k in data
            if str(k).lower().replace("-", "_") in PRICE_KEYS or "price" in str(k).lower()
        ]
        if given:
            raise ValueError(
                f"{', '.join(sorted(given))} cannot be given: prices come from the catalog "
                "only. Give only each line's sku and quantity."
            )
    return data


class QuoteLineArgs(Args):
    sku: Annotated[Text, StringConstraints(max_length=128)] = Field(
        description="A SKU exactly as a search_catalog or get_product result gave it."
    )
    quantity: int = Field(ge=1, le=MAX_QUANTITY, description="How many units the customer wants.")

    @model_validator(mode="before")
    @classmethod
    def _no_price(cls, data: Any) -> Any:
        return _refuse_prices(data)


class PrepareQuoteArgs(Args):
    """Prepare a draft quote from catalog SKUs and quantities; the catalog sets the prices."""

    lines: list[QuoteLineArgs] = Field(min_length=1, max_length=MAX_LINES)
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = Field(
        default=None, description="A short note printed under the quote's lines."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_price(cls, data: Any) -> Any:
        return _refuse_prices(data)


class RequestHumanHandoffArgs(Args):
    """Hand the conversation to a human sales rep; the bot stops answering it."""

    reason: Annotated[Text, StringConstraints(min_length=3, max_length=500)]


@dataclass
class StagedQuote:
    """The quote ``prepare_quote`` checked; ``agent.services`` prepares it at the commit."""

    lines: list[LineRequest]
    notes: str
    result: dict[str, Any]  # what the model was told


@dataclass
class TurnState:
    """The conversation a turn works on, and the effects its tools staged."""

    tenant: Tenant
    conversation: Conversation
    contact: Contact
    contact_changes: dict[str, str] = field(default_factory=dict)
    company_name: str = ""
    division_name: str = ""
    opportunity: dict[str, str] | None = None
    opportunity_values: dict[str, Any] = field(default_factory=dict)  # value, currency
    recommendations: dict[str, tuple[Product, str]] = field(default_factory=dict)
    handoff_reason: str = ""
    quote: StagedQuote | None = None
    flag_reason: str = ""  # why a rep should look (a fallback answer says so)
    tool_log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_effects(self) -> bool:
        """Whether a tool staged anything for the commit to write."""
        return bool(
            self.contact_changes
            or self.company_name
            or self.division_name
            or self.opportunity
            or self.recommendations
            or self.quote
        )

    def open_opportunity(self) -> LeadOpportunity | None:
        return (
            LeadOpportunity.objects.filter(conversation=self.conversation)
            .exclude(status=LeadOpportunity.Status.CLOSED)
            .order_by("-created_at")
            .first()
        )

    def quotable_opportunity(self) -> LeadOpportunity | None:
        """The newest opportunity of the conversation that is neither closed nor won."""
        return (
            LeadOpportunity.objects.filter(conversation=self.conversation)
            .exclude(status__in=(LeadOpportunity.Status.CLOSED, LeadOpportunity.Status.WON))
            .order_by("-created_at")
            .first()
        )


class ToolError(Exception):
    """Sent back to the model as the tool's result, so it can correct itself."""


def _active_product(state: TurnState, sku: str) -> Product | None:
    return Product.objects.filter(
        tenant=state.tenant, is_active=True, sku__iexact=sku.strip()
    ).first()


# The fields a product brief shows (here and in the prompt): the uploaded HTML, up to
# 200 kB a field, stays in the database.
BRIEF_FIELDS = ("sku", "name", "brand", "category", "price", "currency", "url", "clean_text")


def _brief(product: Product, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sku": product.sku,
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "price": f"{product.price} {product.currency}".strip() if product.price else "on request",
        "url": product.url,
    }
    limit = 4000 if full else 500
    data["description"] = product.clean_text[:limit]
    return data


def search_catalog(state: TurnState, args: SearchCatalogArgs) -> dict[str, Any]:
    hits = search(
        tenant=state.tenant, query=args.query, k=5, filters={"category": args.category or ""}
    )
    rows = Product.objects.filter(pk__in=[h.product_id for h in hits]).only(*BRIEF_FIELDS)
    products = {p.pk: p for p in rows}
    found = [_brief(products[h.product_id]) for h in hits if h.product_id in products]
    return {"products": found} if found else {"products": [], "note": "no matching product"}


def get_product(state: TurnState, args: GetProductArgs) -> dict[str, Any]:
    product = _active_product(state, args.sku)
    if product is None:
        raise ToolError(f"no active product with SKU {args.sku!r} in this catalog")
    return _brief(product, full=True)


def save_contact_info(state: TurnState, args: SaveContactInfoArgs) -> dict[str, Any]:
    for name, target in (("full_name", "full_name"), ("email", "email"), ("phone", "phone_number")):
        value = getattr(args, name)
        if value:
            state.contact_changes[target] = value
    if args.division and not (args.company or state.company_name or state.contact.division_id):
        raise ToolError("to record the area (division), also give the company it belongs to")
    if args.company:
        state.company_name = args.company
    if args.division:
        state.division_name = args.division
    return {"saved": sorted(k for k, v in args.model_dump().items() if v)}


def register_opportunity(state: TurnState, args: RegisterOpportunityArgs) -> dict[str, Any]:
    existed = state.opportunity is not None or state.open_opportunity() is not None
    state.opportunity = {"problem_statement": args.problem_statement, "status": args.status}
    return {"opportunity": "updated" if existed else "created"}


def recommend_products(state: TurnState, args: RecommendProductsArgs) -> dict[str, Any]:
    if state.opportunity is None and state.open_opportunity() is None:
        raise ToolError("register the opportunity first (register_opportunity), then recommend")
    unknown = []
    resolved = []
    for item in args.products:
        product = _active_product(state, item.sku)
        if product is None:
            unknown.append(item.sku)
        else:
            resolved.append((product, item.justification))
    if unknown:
        raise ToolError(
            f"not active products of this catalog: {', '.join(unknown)}. Nothing was recorded; "
            "use search_catalog and recommend only SKUs it returns."
        )
    for product, justification in resolved:
        state.recommendations[product.sku] = (product, justification)
    return {"recommended": [p.sku for p, _ in resolved]}


def _same_lines(lines: list[LineRequest], quote: Quote) -> bool:
    have = [(line.sku, line.quantity) for line in quote.lines.all()]
    return have == [(line.sku, line.quantity) for line in lines]


def _quote_result(source: Quote, lines: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "line_total": str(line.line_total),
            }
            for line in lines
        ],
        "currency": source.currency,
        "subtotal": str(source.subtotal),
        "tax_rate_percent": str(source.tax_rate),
        "tax": str(source.tax_amount),
        "total": str(source.total),
        "valid_until": source.valid_until.isoformat(),
    }


def prepare_quote(state: TurnState, args: PrepareQuoteArgs) -> dict[str, Any]:
    """Check the lines against the catalog (nothing is written) and stage the draft.

    One quote per turn: a second call replaces the first (the same lines: the same result).
    The opportunity's draft with the same lines (from an earlier turn) is returned instead
    of a new one. With ``Tenant.quotes_send_without_approval`` the commit sends it too.
    """
    # The one the turn registers is this one when it exists (register_opportunity updates it).
    opportunity = state.quotable_opportunity()
    if state.opportunity is None and opportunity is None:
        raise ToolError(
            "this conversation has no open opportunity: call register_opportunity with the "
            "customer's need first, then prepare_quote"
        )
    try:
        preview, built = quote_preview(
            tenant=state.tenant,
            lines=[LineRequest(sku=line.sku, quantity=line.quantity) for line in args.lines],
        )
    except QuoteRefused as exc:
        raise ToolError(
            f"{exc.message} Nothing was prepared; quote only SKUs a search_catalog result "
            "gave with a price, or tell the customer a sales rep will price it."
        ) from exc
    lines = [LineRequest(sku=line.sku, quantity=line.quantity) for line in built]
    if opportunity is not None:
        drafts = Quote.objects.filter(opportunity=opportunity, status=Quote.Status.DRAFT)
        for draft in drafts.prefetch_related("lines").order_by("-created_at"):
            if _same_lines(lines, draft):
                state.quote = None  # one quote per turn: this one
                return _quote_result(
                    draft,
                    list(draft.lines.all()),
                    quote=draft.reference,
                    status="draft (already prepared earlier, nothing new was created)",
                    note="A sales rep will confirm it before it is sent; tell the customer so.",
                )
    if state.tenant.quotes_send_without_approval and not state.handoff_reason:
        note = (
            "The quote is sent to the customer right after your reply, as a document with its "
            "reference and an Accept button. Tell the customer so; do not repeat every line."
        )
    else:
        note = (
            "A sales rep will confirm this quote before it is sent to the customer; tell the "
            "customer so. Its reference is given when it is saved with your reply."
        )
    replaced = state.quote is not None and state.quote.lines != lines
    result = _quote_result(
        preview,
        built,
        quote="draft prepared" if not replaced else "draft prepared (replaces the one before)",
        note=note,
    )
    state.quote = StagedQuote(lines=lines, notes=args.notes or "", result=result)
    return result


def request_human_handoff(state: TurnState, args: RequestHumanHandoffArgs) -> dict[str, Any]:
    state.handoff_reason = args.reason
    return {
        "handed_off": True,
        "note": "A sales rep will take over. Tell the customer so; do not promise a time.",
    }


@dataclass(frozen=True)
class Tool:
    name: str
    args: type[Args]
    run: Callable[[TurnState, Any], dict[str, Any]]

    def schema(self) -> dict[str, Any]:
        parameters = self.args.model_json_schema()
        parameters.pop("title", None)
        description = (self.args.__doc__ or "").strip()
        return {
            "type": "function",
            "function": {"name": self.name, "description": description, "parameters": parameters},
        }


TOOLS = {
    tool.name: tool
    for tool in (
        Tool("search_catalog", SearchCatalogArgs, search_catalog),
        Tool("get_product", GetProductArgs, get_product),
        Tool("save_contact_info", SaveContactInfoArgs, save_contact_info),
        Tool("register_opportunity", RegisterOpportunityArgs, register_opportunity),
        Tool("recommend_products", RecommendProductsArgs, recommend_products),
        Tool("prepare_quote", PrepareQuoteArgs, prepare_quote),
        Tool("request_human_handoff", RequestHumanHandoffArgs, request_human_handoff),
    )
}
TOOL_SCHEMAS = [tool.schema() for tool in TOOLS.values()]


def _argument_errors(exc: ArgumentsError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
        for error in exc.errors()[:5]
    )


async def tool_prefetch(state: TurnState, name: str, arguments: str) -> None:
    """Do a tool call's work that needs no database ahead of :func:`run_tool`, off its thread.

    For ``search_catalog``: embed the query (with the concurrent turns' queries). Arguments
    that do not validate are left for :func:`run_tool` to refuse.
    """
    if name != "search_catalog":
        return
    try:
        args = SearchCatalogArgs.model_validate(json.loads(arguments or "{}"))
    except (json.JSONDecodeError, ArgumentsError):
        return
    await search_prefetch(tenant=state.tenant, query=args.query)


def run_tool(state: TurnState, name: str, arguments: str) -> tuple[dict[str, Any], bool]:
    """Run one tool call of the model. Returns (result for the model, succeeded)."""
    tool = TOOLS.get(name)
    try:
        if tool is None:
            raise ToolError(f"unknown tool {name!r}; the tools are {', '.join(TOOLS)}")
        try:
            raw = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ToolError(f"the arguments are not valid JSON: {exc.msg}") from exc
        try:
            parsed = tool.args.model_validate(raw)
        except ArgumentsError as exc:
            raise ToolError(f"invalid arguments: {_argument_errors(exc)}") from exc
        result = tool.run(state, parsed)
    except ToolError as exc:
        state.tool_log.append({"tool": name, "ok": False, "error": str(exc)})
        logger.info("tool %s refused: %s", name, exc)
        return {"error": str(exc)}, False
    state.tool_log.append({"tool": name, "ok": True})
    return result, True
