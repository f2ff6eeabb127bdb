"""Writes about tenants and members. Callers hold the tenant's scope (or are operator code)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from tenants.models import Membership, Tenant
from tenants.public_urls import public_url
from tenants.roles import ROLE_GROUPS
from tenants.scoping import scopes_disabled, tenant_scope

if TYPE_CHECKING:
    # The project's user model (AUTH_USER_MODEL is Django's); get_user_model() at run time.
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


class MemberError(ValueError):
    """A member cannot be created or changed as asked; the message says why."""


@dataclass
class EnsureResult:
    created: bool
    changed: list[str] = field(default_factory=list)


def tenant_ensure(*, slug: str, name: str) -> tuple[Tenant, EnsureResult]:
    """Create the tenant, or bring its name up to date. Idempotent."""
    validate_slug(slug)
    if not name.strip():
        raise ValidationError("A tenant needs a name.")
    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name.strip()})
    result = EnsureResult(created=created)
    if not created and tenant.name != name.strip():
        tenant.name = name.strip()
        tenant.save(update_fields=["name", "updated_at"])
        result.changed.append("name")
    return tenant, result


def tenant_update(*, tenant: Tenant, previous_logo: str = "") -> Tenant:
    """Save the tenant's settings. A replaced or cleared logo's file is deleted after commit."""
    tenant.save()
    if previous_logo and previous_logo != tenant.logo.name:
        storage = tenant.logo.storage
        transaction.on_commit(lambda: storage.delete(previous_logo))
    return tenant


def membership_set_role(*, membership: Membership, role: str) -> bool:
    """Set the member's role and the matching permission group. Returns True when it changed."""
    if role not in ROLE_GROUPS:
        raise MemberError(f"Unknown role {role!r}: use one of {', '.join(ROLE_GROUPS)}.")
    changed = membership.role != role
    if changed:
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    user = membership.user
    wanted = Group.objects.get(name=ROLE_GROUPS[role])
    others = Group.objects.filter(name__in=[g for r, g in ROLE_GROUPS.items() if r != role])
    user.groups.remove(*others)
    user.groups.add(wanted)
    return changed


def membership_set_language(*, membership: Membership, language: str) -> bool:
    """Set the member's desk language ("" follows the tenant's). Returns True when it changed."""
    offered = sorted(code for code, _name in Tenant.Language.choices)
    if language and language not in offered:
        raise MemberError(f"Unknown language {language!r}: use one of {', '.join(offered)}.")
    changed = membership.language != language
    if changed:
        membership.language = language
        membership.save(update_fields=["language", "updated_at"])
    return changed


def _user_by_email(email: str) -> User | None:
    return get_user_model().objects.filter(username__iexact=email.strip().lower()).first()


def member_refusal(*, tenant: Tenant, email: str) -> str | None:
    """Why ``member_ensure`` would refuse this address, or None when it would not.

    A new address is always welcome. An existing account may join ``tenant`` only when
    it is not a platform operator, not deactivated, belongs to no other tenant and is not
    a staff account outside every tenant (someone's staff login that a tenant admin must
    not take over): adding it would otherwise hand its access to this tenant.
    """
    user = _user_by_email(email)
    if user is None:
        return None
    if user.is_superuser:
        return gettext("%(email)s is a platform operator and cannot be a tenant member.") % {
            "email": email
        }
    with scopes_disabled():
        tenant_ids = set(
            Membership.all_objects.filter(user=user).values_list("tenant_id", flat=True)
        )
    if tenant_ids - {tenant.pk}:
        return gettext("%(email)s already belongs to another tenant.") % {"email": email}
    if not tenant_ids and user.is_staff:
        return gettext(
            "%(email)s is a staff account that belongs to no tenant; "
            "only a platform operator can change it."
        ) % {"email": email}
    if not user.is_active:
        return gettext("%(email)s is deactivated; only a platform operator can reactivate it.") % {
            "email": email
        }
    return None


@transaction.atomic
def member_ensure(
    *,
    tenant: Tenant,
    email: str,
    role: str,
    password: str | None = None,
    full_name: str = "",
) -> tuple[Membership, EnsureResult]:
    """Create a staff user who is a member of ``tenant``, or add an existing one. Idempotent.

    The user logs in with their email. ``password`` is for a new user only (operator
    commands and the demo seed); without one the new user gets no usable password and
    sets one through ``member_invite``'s link. An existing user's password is never
    changed. Accounts ``member_refusal`` names are refused: a staff user belongs to
    exactly one tenant.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise MemberError(f"{email!r} is not a valid email address.") from exc
    if role not in ROLE_GROUPS:
        raise MemberError(f"Unknown role {role!r}: use one of {', '.join(ROLE_GROUPS)}.")

    refusal = member_refusal(tenant=tenant, email=email)
    if refusal:
        raise MemberError(refusal)
    user = _user_by_email(email)
    result = EnsureResult(created=user is None)
    if user is None:
        user = get_user_model()(username=email, email=email, is_staff=True, is_active=True)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        if full_name:
            user.first_name, _, user.last_name = full_name.partition(" ")
        user.save()
    elif not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        result.changed.append("is_staff")

    with tenant_scope(tenant):
        membership = Membership.all_objects.filter(user=user).first()
        if membership is None:
            membership = Membership.objects.create(tenant=tenant, user=user, role=role)
            if not result.created:
                result.changed.append("membership")
        elif membership.is_deleted:
            membership.restore()
            result.changed.append("membership")
        if membership_set_role(membership=membership, role=role):
            result.changed.append("role")
    return membership, result


def member_set_password_link(*, user: User) -> str:
    """A one-time link to set ``user``'s password (Django's password-reset token).

    The token hashes the user's current password and last login, so it stops working
    once a password is set (and after ``PASSWORD_RESET_TIMEOUT``). The link is built on
    ``PUBLIC_BASE_URL``, never on a request's Host header.
    """
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uidb64, "token": token})
    return public_url(path)


def member_invite(*, membership: Membership) -> str | None:
    """E-mail the member that they were added to their tenant's desk (after the commit).

    A member who has no usable password yet gets a one-time set-password link, which is
    also returned (for the admin to pass on when the e-mail does not arrive); a member
    with a password of their own gets a notice and None: nobody else gets a way in.
    A failed send is logged, never raised (the membership stands).
    """
    user, tenant = membership.user, membership.tenant
    login_url = public_url(reverse("admin:login"))
    link = None
    if not user.has_usable_password():
        link = member_set_password_link(user=user)
    # In the language the member's desk will speak (theirs, else the tenant's).
    with translation.override(membership.language or tenant.default_language or None):
        if link is None:
            how = gettext("Sign in at %(url)s with %(email)s and your password.") % {
                "url": login_url,
                "email": user.email,
            }
        else:
            how = gettext(
                "Choose your password here (the link works once, for %(days)s days):\n"
                "%(link)s\n\nThen sign in at %(url)s with %(email)s."
            ) % {
                "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
                "link": link,
                "url": login_url,
                "email": user.email,
            }
        subject = gettext("Your account on the %(tenant)s sales desk") % {"tenant": tenant.name}
        body = gettext("You have been added to the %(tenant)s sales desk as %(role)s.") % {
            "tenant": tenant.name,
            "role": str(membership.get_role_display()).lower(),
        }
    message = EmailMessage(subject=subject, body=f"{body}\n\n{how}\n", to=[user.email])
    transaction.on_commit(lambda: _invite_send(message, user.pk), robust=True)
    return link


def _invite_send(message: EmailMessage, user_id: int) -> None:
    try:
        message.send()
    except Exception:
        logger.exception("The invitation e-mail to user %s could not be sent.", user_id)
