"""factory-boy factories for every model; related objects stay in one tenant.

``FACTORIES`` maps each tenant-owned model to its factory; a unit test checks
that no tenant-owned model is missing from it, so the parametrised isolation
tests cover every model.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from agent.models import LLMCall
from catalog.models import CatalogUpload, Product, SynonymGroup
from channels_app.models import ChannelAccount, ConversationRoute, InboundEvent
from crm.models import (
    AuditEntry,
    Company,
    CompanyDivision,
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityProductRecommendation,
    Platform,
)
from desk.models import ConversationReadMark
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from quotes.models import Quote, QuoteLine
from tenants.models import Membership, Tenant

SAME_TENANT = factory.SelfAttribute("..tenant")


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Sequence(lambda n: f"Tenant {n}")
    persona = "Eres un asesor técnico."


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TenantOwnedFactory(DjangoModelFactory):
    class Meta:
        abstract = True

    tenant = factory.SubFactory(TenantFactory)


class MembershipFactory(TenantOwnedFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Membership.Role.SALES_REP
    # Members of tests that do not care about the desk's language read it in English, the
    # language their assertions are written in (tests/functional/test_desk_i18n.py: Spanish).
    language = "en"


class CompanyFactory(TenantOwnedFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n} S.A.")
    fiscal_id = factory.Sequence(lambda n: f"900{n:06d}-1")


class CompanyDivisionFactory(TenantOwnedFactory):
    class Meta:
        model = CompanyDivision

    company = factory.SubFactory(CompanyFactory, tenant=SAME_TENANT)
    name = factory.Sequence(lambda n: f"Lab {n}")


class ContactFactory(TenantOwnedFactory):
    class Meta:
        model = Contact

    division = factory.SubFactory(CompanyDivisionFactory, tenant=SAME_TENANT)
    full_name = factory.Faker("name", locale="es_ES")
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")
    platform = Platform.TELEGRAM
    platform_user_id = factory.Sequence(lambda n: str(100000 + n))


class ConversationFactory(TenantOwnedFactory):
    class Meta:
        model = Conversation

    contact = factory.SubFactory(ContactFactory, tenant=SAME_TENANT)
    channel = factory.SelfAttribute("contact.platform")


class MessageFactory(TenantOwnedFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory, tenant=SAME_TENANT)
    role = Message.Role.USER
    content = factory.Sequence(lambda n: f"Mensaje {n}: necesito un medidor de pH")


class LeadOpportunityFactory(TenantOwnedFactory):
    class Meta:
        model = LeadOpportunity

    contact = factory.SubFactory(ContactFactory, tenant=SAME_TENANT)
    conversation = factory.SubFactory(
        ConversationFactory, tenant=SAME_TENANT, contact=factory.SelfAttribute("..contact")
    )
    problem_statement = factory.Sequence(lambda n: f"Need {n}: turbidity 0-100 NTU")


class ProductFactory(TenantOwnedFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"HL-{n:05d}")
    name = factory.Sequence(lambda n: f"Turbidímetro portátil TU-{n}")
    category = "Turbidímetros"
    brand = "Hidrolab"
    description_html = "<p>Rango 0-1000 <b>NTU</b></p>"
    clean_text = "Rango 0-1000 NTU"


class CatalogUploadFactory(TenantOwnedFactory):
    class Meta:
        model = CatalogUpload

    file = factory.django.FileField(filename="catalog.csv", data=b"sku,name\nA-1,Sonda\n")
    original_name = "catalog.csv"


class SynonymGroupFactory(TenantOwnedFactory):
    class Meta:
        model = SynonymGroup

    terms = factory.Sequence(lambda n: f"pHmetro {n} = medidor de pH {n}")


class RecommendationFactory(TenantOwnedFactory):
    class Meta:
        model = OpportunityProductRecommendation

    opportunity = factory.SubFactory(LeadOpportunityFactory, tenant=SAME_TENANT)
    product_name = factory.SelfAttribute("product.name")
    product = factory.SubFactory(ProductFactory, tenant=SAME_TENANT)
    product_sku = factory.SelfAttribute("product.sku")
    justification = "Covers the requested range."


class AuditEntryFactory(TenantOwnedFactory):
    class Meta:
        model = AuditEntry

    opportunity = factory.SubFactory(LeadOpportunityFactory, tenant=SAME_TENANT)
    action = "crm.opportunity.status_changed"
    from_value = LeadOpportunity.Status.QUALIFIED
    to_value = LeadOpportunity.Status.NEEDS_EXPERT


class LLMCallFactory(TenantOwnedFactory):
    class Meta:
        model = LLMCall

    conversation = factory.SubFactory(ConversationFactory, tenant=SAME_TENANT)
    model = "deepseek-chat"
    prompt_tokens = 812
    completion_tokens = 64
    duration_ms = 950


class ConversationReadMarkFactory(TenantOwnedFactory):
    class Meta:
        model = ConversationReadMark

    conversation = factory.SubFactory(ConversationFactory, tenant=SAME_TENANT)
    user = factory.SubFactory(UserFactory)
    last_read_at = factory.LazyFunction(timezone.now)


class ChannelAccountFactory(TenantOwnedFactory):
    class Meta:
        model = ChannelAccount

    kind = ChannelAccount.Kind.TELEGRAM
    name = factory.Sequence(lambda n: f"Bot {n}")
    bot_token = factory.Sequence(lambda n: f"{100000 + n}:AAtest-token-{n}")


class ConversationRouteFactory(TenantOwnedFactory):
    class Meta:
        model = ConversationRoute

    conversation = factory.SubFactory(ConversationFactory, tenant=SAME_TENANT)
    account = factory.SubFactory(ChannelAccountFactory, tenant=SAME_TENANT)
    address = factory.SelfAttribute("conversation.contact.platform_user_id")


class InboundEventFactory(TenantOwnedFactory):
    class Meta:
        model = InboundEvent

    account = factory.SubFactory(ChannelAccountFactory, tenant=SAME_TENANT)
    external_id = factory.Sequence(lambda n: f"tg:1:5550001:{n}")
    address = "5550001"
    text = "Hola, busco un medidor de pH"


class WebhookEndpointFactory(TenantOwnedFactory):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://crm{n}.example/hooks")
    events = factory.LazyFunction(lambda: ["contact.created", "opportunity.updated"])
    # Paused: the tenants' rows of other tests must not start deliveries to nowhere when
    # their CRM activity publishes events. Webhook tests make sending endpoints.
    is_active = False


class WebhookDeliveryFactory(TenantOwnedFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory, tenant=SAME_TENANT)
    event_id = factory.Sequence(lambda n: f"{n:032x}")
    event_type = "contact.created"
    payload = factory.LazyAttribute(
        lambda o: {"id": o.event_id, "type": o.event_type, "tenant": o.tenant.slug, "data": {}}
    )
    status = WebhookDelivery.Status.FAILED
    attempts = 1
    retry_until = factory.LazyFunction(timezone.now)


class WebhookAttemptFactory(TenantOwnedFactory):
    class Meta:
        model = WebhookAttempt

    delivery = factory.SubFactory(WebhookDeliveryFactory, tenant=SAME_TENANT)
    number = 1
    status_code = 500
    duration_ms = 12
    response_excerpt = "Internal Server Error"


class QuoteFactory(TenantOwnedFactory):
    class Meta:
        model = Quote

    opportunity = factory.SubFactory(LeadOpportunityFactory, tenant=SAME_TENANT)
    contact = factory.SelfAttribute("opportunity.contact")
    conversation = factory.SelfAttribute("opportunity.conversation")
    number = factory.Sequence(lambda n: n + 1)
    currency = "EUR"
    language = "es"
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    created_by_kind = Quote.CreatedBy.AGENT


class QuoteLineFactory(TenantOwnedFactory):
    class Meta:
        model = QuoteLine

    quote = factory.SubFactory(QuoteFactory, tenant=SAME_TENANT)
    product = factory.SubFactory(
        ProductFactory, tenant=SAME_TENANT, price=Decimal("1250.00"), currency="EUR"
    )
    sku = factory.SelfAttribute("product.sku")
    name = factory.SelfAttribute("product.name")
    quantity = 1
    unit_price = factory.SelfAttribute("product.price")
    line_total = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)


FACTORIES: dict[type, type[DjangoModelFactory]] = {
    ChannelAccount: ChannelAccountFactory,
    InboundEvent: InboundEventFactory,
    ConversationRoute: ConversationRouteFactory,
    LLMCall: LLMCallFactory,
    ConversationReadMark: ConversationReadMarkFactory,
    Product: ProductFactory,
    CatalogUpload: CatalogUploadFactory,
    SynonymGroup: SynonymGroupFactory,
    Membership: MembershipFactory,
    Company: CompanyFactory,
    CompanyDivision: CompanyDivisionFactory,
    Contact: ContactFactory,
    Conversation: ConversationFactory,
    Message: MessageFactory,
    LeadOpportunity: LeadOpportunityFactory,
    OpportunityProductRecommendation: RecommendationFactory,
    AuditEntry: AuditEntryFactory,
    WebhookEndpoint: WebhookEndpointFactory,
    WebhookDelivery: WebhookDeliveryFactory,
    WebhookAttempt: WebhookAttemptFactory,
    Quote: QuoteFactory,
    QuoteLine: QuoteLineFactory,
}
