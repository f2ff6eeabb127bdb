"""Two-factor sign-in for staff: who owes a second factor, their devices, and checking codes.

Built on django-otp (docs/adr/0002-login-security.md): a confirmed ``TOTPDevice`` is the
authenticator app, a ``StaticDevice`` holds the single-use recovery codes. A staff user
owes a second factor when they have set one up, when their tenant requires it of every
member (``Tenant.two_factor_required``), or, for operators, when
``OTP_REQUIRED_FOR_OPERATORS`` is on. The views that use this are in ``tenants.signin``.
"""

from __future__ import annotations

import re
from base64 import b32encode
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils.safestring import SafeString, mark_safe
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.selectors import membership_for_user

if TYPE_CHECKING:
    from django.contrib.auth.models import User

APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
TOTP_CODE = re.compile(r"\d{6}")


def two_factor_required(*, user: User) -> bool:
    """Whether ``user`` must set up a second factor (their tenant or the platform says so)."""
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return bool(settings.OTP_REQUIRED_FOR_OPERATORS)
    membership = membership_for_user(user=user)
    return membership is not None and membership.tenant.two_factor_required


def user_is_verified(user: Any) -> bool:
    """Whether this request's user passed a second factor (``OTPMiddleware`` sets it)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified()) if is_verified is not None else False


def two_factor_enabled(*, user: User) -> bool:
    """Whether ``user`` has a confirmed authenticator app (or recovery codes left)."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or StaticToken.objects.filter(device__user=user, device__confirmed=True).exists()
    )


def two_factor_owed(*, user: User) -> bool:
    """Whether signing in as ``user`` takes a second factor (or setting one up)."""
    return two_factor_enabled(user=user) or two_factor_required(user=user)


def totp_device_start(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator device being set up (a new secret the first time)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by(
        "-pk"
    ).first() or TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The device's secret in base32, in groups of four, for typing into an app."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_svg(device: TOTPDevice) -> SafeString:
    """The device's ``otpauth://`` URL as an inline SVG QR code (dark on white)."""
    import segno

    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=4, light="#fff", title="QR code for your authenticator app"
    )
    # segno writes the markup itself (numbers and path data; the URL is encoded into the
    # modules, never copied as text), so it is safe to embed as is.
    return mark_safe(svg)  # noqa: S308


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the device with a code from the app; returns fresh recovery codes, or None.

    The confirmed device replaces any earlier authenticator app of the user.
    """
    if not TOTP_CODE.fullmatch(code) or not device.verify_token(code):
        return None
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.name = APP_DEVICE_NAME
    device.save(update_fields=["confirmed", "name"])
    return recovery_codes_generate(user=device.user)


@transaction.atomic
def recovery_codes_generate(*, user: User) -> list[str]:
    """Replace the user's recovery codes with ``OTP_RECOVERY_CODES`` new single-use ones."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.OTP_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


class CodeThrottled(Exception):
    """Too many wrong codes in a row: the device refuses checks for a while."""


def two_factor_verify(*, user: User, code: str) -> Any:
    """The device that accepts ``code`` (6 digits: the app; else a recovery code), or None.

    A recovery code is used up. django-otp throttles each device after a wrong code
    (1, 2, 4, ... seconds); a check during that pause raises ``CodeThrottled``.
    """
    code = re.sub(r"\s+", "", code).lower()
    devices: list[Any]
    if TOTP_CODE.fullmatch(code):
        devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    else:
        devices = list(StaticDevice.objects.filter(user=user, confirmed=True))
    if devices and not any(device.verify_is_allowed()[0] for device in devices):
        raise CodeThrottled
    for device in devices:
        with transaction.atomic():
            locked = type(device).objects.select_for_update().get(pk=device.pk)
            if locked.verify_token(code):
                return locked
    return None


@transaction.atomic
def two_factor_reset(*, user: User) -> int:
    """Remove the user's authenticator apps and recovery codes (they lost them); returns
    how many devices went. The user sets up a new app at their next sign-in if required."""
    removed = TOTPDevice.objects.filter(user=user).delete()[1].get(TOTPDevice._meta.label, 0)
    removed += StaticDevice.objects.filter(user=user).delete()[1].get(StaticDevice._meta.label, 0)
    return int(removed)
