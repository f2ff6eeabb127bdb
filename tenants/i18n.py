"""Translated names of models and fields, given at run time.

A field declared without ``verbose_name`` is named after its attribute ("status"), in
English. Passing ``verbose_name=_("status")`` would change the field's deconstruction, and
so the migrations; ``label_model`` sets the translated names on the loaded model instead:
``Field.deconstruct()`` keeps the name the field was declared with, and migrations read a
model's ``Meta`` from ``_meta.original_attrs``, so neither changes. Each app's
``models.py`` calls it under its models, with the names written out for ``makemessages``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

# The fields of the abstract bases (tenants.models), shared by every tenant-owned model.
COMMON_FIELDS: Mapping[str, Any] = {  # lazy translations
    "created_at": _("created at"),
    "updated_at": _("updated at"),
    "is_deleted": _("deleted"),
    "deleted_at": _("deleted at"),
    "tenant": _("tenant"),
    "is_active": _("active"),
    "name": _("name"),
}


def label_model(
    model: type[models.Model],
    fields: Mapping[str, Any] | None = None,
    *,
    name: Any = None,
    plural: Any = None,
) -> None:
    """Give ``model`` its translated name (``name``, ``plural``) and its fields theirs
    (``fields``, then ``COMMON_FIELDS`` for the ones declared without a name)."""
    opts = model._meta
    given = dict(fields or {})
    # The forward fields, inherited ones included: reverse relations do not exist yet.
    declared = [*opts.local_fields, *opts.local_many_to_many]
    unknown = set(given) - {field.name for field in declared}
    if unknown:
        raise ValueError(f"{model.__name__} has no field {', '.join(sorted(unknown))}.")
    if name is not None:
        opts.verbose_name = name
    if plural is not None:
        opts.verbose_name_plural = plural
    for field in declared:
        label = given.get(field.name)
        if label is None and field._verbose_name is None:  # type: ignore[attr-defined]
            label = COMMON_FIELDS.get(field.name)
        if label is not None:
            field.verbose_name = label
