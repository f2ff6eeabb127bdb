"""import_catalog and reindex_catalog: JSON summaries, idempotency, drift exit code."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from catalog.index import index_remove
from catalog.models import Product
from tenants.scoping import tenant_scope

pytestmark = pytest.mark.django_db

CSV = (
    "sku;nombre;precio;descripción\n"
    "HL-1;Turbidímetro TU-1;1.250,00;<p>0-1000 NTU</p>\n"
    "HL-2;Medidor de pH;abc;<p>pH</p>\n"
    "HL-3;Conductímetro;99,90;<p>µS/cm a 25 °C</p>\n"
).encode("latin-1")


def run(*args):
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_import_catalog_reports_and_is_idempotent(tenant_a, catalog_index, tmp_path):
    path = tmp_path / "catalogo.csv"
    path.write_bytes(CSV)
    first = run("import_catalog", tenant_a.slug, str(path))
    assert {k: first[k] for k in ("created", "updated", "unchanged", "deactivated", "failed")} == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "deactivated": 0,
        "failed": 1,
    }
    assert first["errors"] == [{"row": 3, "sku": "HL-2", "reason": "bad price 'abc'"}]
    second = run("import_catalog", tenant_a.slug, str(path), "--full-sync")
    assert (second["created"], second["updated"], second["unchanged"], second["deactivated"]) == (
        0,
        0,
        2,
        0,
    )
    with tenant_scope(tenant_a):
        assert Product.objects.get(sku="HL-3").clean_text == "µS/cm a 25 °C"


def test_import_catalog_errors_are_clear(tenant_a, tmp_path):
    with pytest.raises(CommandError, match="No tenant"):
        call_command("import_catalog", "nope", str(tmp_path / "x.csv"), stdout=io.StringIO())
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_catalog", tenant_a.slug, str(tmp_path / "x.csv"), stdout=io.StringIO())
    bad = tmp_path / "old.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    with pytest.raises(CommandError, match="xlsx"):
        call_command("import_catalog", tenant_a.slug, str(bad), stdout=io.StringIO())


def test_reindex_catalog_check_and_rebuild(tenant_a, catalog_index, tmp_path):
    path = tmp_path / "catalogo.csv"
    path.write_bytes(CSV)
    run("import_catalog", tenant_a.slug, str(path))
    assert run("reindex_catalog", tenant_a.slug, "--check")["clean"] is True
    with tenant_scope(tenant_a):
        index_remove(tenant=tenant_a, product_ids=[Product.objects.get(sku="HL-1").pk])
    out = io.StringIO()
    with pytest.raises(CommandError, match="drifted"):
        call_command("reindex_catalog", tenant_a.slug, "--check", "--json", stdout=out)
    assert json.loads(out.getvalue())["missing"] == ["HL-1"]
    rebuilt = run("reindex_catalog", tenant_a.slug)
    assert rebuilt["indexed"] == 2 and rebuilt["drift"]["clean"] is True
