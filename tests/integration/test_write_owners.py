"""One owner per write: only ``crm`` writes the CRM's rows (ARCHITECTURE.md).

Two checks: a static one here (no ORM write call on a CRM model outside ``crm/``), and
a dynamic one over the whole suite (``tests/write_owners.py``, which fails any test that
makes a write on a CRM table from another app's code). This file also proves the
dynamic check can fail.
"""

from __future__ import annotations

import ast

import pytest
from django.apps import apps

from crm.models import Platform
from tenants.scoping import tenant_scope
from tests.factories import ContactFactory
from tests.write_owners import ROOT, violations

APPS = ["agent", "catalog", "channels_app", "config", "desk", "quotes", "tenants"]
WRITES = {
    "save",
    "create",
    "update",
    "delete",
    "hard_delete",
    "restore",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
    "refresh_from_db_and_save",
}


def crm_model_names() -> set[str]:
    return {model.__name__ for model in apps.get_app_config("crm").get_models()}


def _root(node: ast.AST) -> ast.AST:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _annotated_crm(annotation: ast.AST | None, models: set[str]) -> bool:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval")
    return annotation is not None and any(
        isinstance(n, ast.Name) and n.id in models for n in ast.walk(annotation)
    )


def static_violations(source: str, models: set[str]) -> list[int]:
    """Lines that call an ORM write on a CRM model's manager or queryset, or save/delete a
    variable that holds a CRM row (annotated as one, or loaded from a CRM manager)."""
    tree = ast.parse(source)
    rows: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in [*node.args.args, *node.args.kwonlyargs]:
                if _annotated_crm(arg.annotation, models):
                    rows.add(arg.arg)
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and _annotated_crm(node.annotation, models)
        ):
            rows.add(node.target.id)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            root = _root(node.value)
            if isinstance(root, ast.Name) and root.id in models:
                rows.update(t.id for t in node.targets if isinstance(t, ast.Name))
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in WRITES:
            continue
        root = _root(node.func.value)
        if isinstance(root, ast.Name) and (root.id in models or root.id in rows):
            lines.append(node.lineno)
    return lines


def test_no_orm_write_on_a_crm_model_outside_crm():
    models = crm_model_names()
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line in static_violations(path.read_text(), models):
                found.append(f"{path.relative_to(ROOT)}:{line}")
    assert found == [], "write CRM rows through crm.services instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "Conversation.objects.filter(pk=1).update(status='closed')",
        "Message.all_objects.create(content='x')",
        "def f(contact: Contact):\n    contact.save()",
        "row = LeadOpportunity.objects.get(pk=1)\nrow.save(update_fields=['status'])",
        "def f(c: 'Conversation | None'):\n    c.delete()",
    ],
)
def test_the_static_check_finds_direct_writes(source):
    assert static_violations(source, crm_model_names())


def test_the_static_check_leaves_other_models_alone():
    source = "account.save()\nProduct.objects.filter(pk=1).update(name='x')\nconversation_flag()"
    assert static_violations(source, crm_model_names()) == []


def test_the_dynamic_check_catches_a_write_from_another_app(tenant_a):
    """A save run from code that lives in ``channels_app/`` is reported; the same save
    from ``crm/`` is not."""
    with tenant_scope(tenant_a):
        contact = ContactFactory(tenant=tenant_a, platform=Platform.TELEGRAM)
        for where, expected in (("channels_app/probe.py", True), ("crm/probe.py", False)):
            code = compile("contact.full_name = 'x'\ncontact.save()", str(ROOT / where), "exec")
            before = len(violations)
            exec(code, {"contact": contact})  # noqa: S102 - our own two lines
            reported = violations[before:]
            assert bool(reported) == expected, reported
            assert all(where in entry and "crm_contact" in entry for entry in reported)
            del violations[before:]
