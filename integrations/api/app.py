"""The REST API v1: one django-ninja API at ``/api/v1/``, its OpenAPI 3.1 schema at
``/api/v1/openapi.json`` and Swagger UI at ``/api/v1/docs`` (served from ninja's bundled
static files: no CDN, under the site's Content-Security-Policy).

Every operation: the CRM integration's API key (``integrations.api.auth``) names the
tenant and the whole operation runs in its scope; per-key rate limits; errors as RFC 9457
problems (``integrations.api.problems``), documented for every operation.
"""

from __future__ import annotations

import json
from typing import Any

from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI, Swagger
from ninja.renderers import JSONRenderer
from pydantic_core import to_jsonable_python

from integrations.api import contacts, conversations, messages, opportunities, products, quotes
from integrations.api.auth import BearerKey, HeaderKey, KeyRateThrottle, in_key_scope
from integrations.api.body import JsonBodyParser
from integrations.api.problems import (
    PROBLEM_JSON,
    Problem,
    api_not_found,
    problem_handlers_install,
    problem_urls,
)

DESCRIPTION = """The CRM's view of a tenant: contacts, companies and divisions,
conversations, opportunities with the agent's product recommendations, quotes (priced
from the catalog only: a line is a SKU and a quantity), and the catalog.

**Authentication**: the API key of the tenant's CRM API account
(`manage.py add_channel SLUG api`), as `Authorization: Bearer <key>` or `X-API-Key: <key>`.

**Pagination**: lists return `{items, next_cursor, has_more}`, oldest change first; pass
`next_cursor` as `cursor` for the next page. `updated_since` starts at rows changed at or
after a time; the last page's `next_cursor` is where the next sync starts.

**Errors**: `application/problem+json` (RFC 9457) for every error.
**Rate limits**: per key; 429 with `Retry-After`.
"""

# The problems every operation may answer, with when.
COMMON_PROBLEMS = {
    "401": "Missing or invalid API key.",
    "422": "The request does not validate: `errors` says which field and why.",
    "429": "Rate limit reached for this key: wait `Retry-After` seconds.",
    "500": "Unexpected error (logged; no details are given).",
}
BODY_PROBLEMS = {
    "400": "The body is not JSON, nests too deeply or holds a number out of range.",
    "413": "The body is too large.",
}


class PydanticJSONEncoder(json.JSONEncoder):
    """Times, dates and decimals exactly as pydantic writes them (``model_dump(mode="json")``,
    what ``integrations.representations`` and so the webhooks send): microseconds kept,
    UTC as ``Z``. ninja's default (Django's encoder) cuts times to milliseconds."""

    def default(self, o: Any) -> Any:
        return to_jsonable_python(o)


class JsonRenderer(JSONRenderer):
    encoder_class = PydanticJSONEncoder


class RestApi(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """ninja's schema with the problems every operation may answer."""
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(
            Problem.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {})
        )
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components["Problem"].pop("$defs", None)
        problem = {
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}},
        }
        for path_name, item in schema["paths"].items():
            for method, operation in item.items():
                responses = operation.setdefault("responses", {})
                wanted = dict(COMMON_PROBLEMS)
                if "{" in path_name:
                    wanted["404"] = "Not found in this tenant."
                if method in ("post", "put", "patch"):
                    wanted.update(BODY_PROBLEMS)
                if method == "put":
                    wanted["409"] = "A concurrent request changed the same record: send it again."
                for status, description in wanted.items():
                    responses[status] = {"description": description, "content": problem}
        return schema


api = RestApi(
    title="Sales agent CRM API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
    auth=[BearerKey(), HeaderKey()],
    throttle=[KeyRateThrottle()],
    parser=JsonBodyParser(),
    renderer=JsonRenderer(),
)
problem_handlers_install(api)
api.add_decorator(in_key_scope, mode="view")
for router in (
    contacts.router,
    conversations.router,
    opportunities.router,
    products.router,
    quotes.router,
    messages.router,
):
    api.add_router("", router)


def api_urls() -> list[URLPattern | URLResolver]:
    """The URL patterns of ``/api/v1/`` (include them at that prefix)."""
    patterns, _app_name, _namespace = api.urls
    return [
        path("", (problem_urls(list(patterns)), "api-v1", "api-v1")),
        re_path(r"^(?P<path>.*)$", api_not_found),
    ]
