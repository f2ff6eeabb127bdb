"""The admin base of every CRM model: the generic admin's writes (save a form, save an
inline row, delete, restore, delete permanently) go through ``crm.services``, as the
acting member, so they reach the audit trail like any other change."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from crm.audit import Actor
from crm.services import record_save, records_hard_delete, records_restore, records_soft_delete
from tenants.admin_base import TenantOwnedAdmin
from tenants.scoping import SoftDeleteQuerySet


class CrmRecordAdmin(TenantOwnedAdmin):
    def row_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        record_save(
            obj=obj,
            changed=list(form.changed_data) if form is not None else [],
            actor=Actor.rep(request.user),
            created=not change,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        records_soft_delete(rows=[obj], actor=Actor.rep(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        records_soft_delete(rows=queryset, actor=Actor.rep(request.user))

    def rows_restore(self, request: HttpRequest, queryset: SoftDeleteQuerySet) -> int:
        return records_restore(queryset=queryset, actor=Actor.rep(request.user))

    def rows_hard_delete(self, request: HttpRequest, queryset: SoftDeleteQuerySet) -> int:
        return records_hard_delete(queryset=queryset, actor=Actor.rep(request.user))
