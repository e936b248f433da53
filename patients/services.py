"""Use cases for clinics, staff, patients and invitations. Each owns its transaction."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.models import (
    CLINIC_ADMINS_GROUP,
    THERAPISTS_GROUP,
    Clinic,
    Invitation,
    Patient,
    Therapist,
    hash_token,
    new_caseload_ref,
)
from programs.models import Enrollment, Phase, Program
from programs.services import enrollment_start

User = get_user_model()


def clinic_create(*, name: str, timezone_name: str, digest_hour: int = 7, digest_weekdays: str = "01234") -> Clinic:
    clinic = Clinic(name=name.strip(), timezone=timezone_name, digest_hour=digest_hour, digest_weekdays=digest_weekdays)
    clinic.full_clean()
    clinic.save()
    return clinic


def generate_password() -> str:
    """A random password that passes the validators (length 16, mixed characters)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(16))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


def therapist_create(
    *, clinic: Clinic, email: str, display_name: str, password: str, is_clinic_admin: bool = False
) -> Therapist:
    """Create a staff user in the Therapists (or Clinic administrators) group, scoped to one clinic."""
    from django.contrib.auth.password_validation import validate_password

    email = User.objects.normalize_email(email).strip().lower()
    if not display_name.strip():
        raise ValidationError({"display_name": "A display name is required."})
    if User.objects.filter(username__iexact=email).exists() or User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": f"A user with the email {email} already exists."})
    user = User(username=email, email=email, is_staff=True)
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.full_clean()
        user.save()
        groups = [THERAPISTS_GROUP] + ([CLINIC_ADMINS_GROUP] if is_clinic_admin else [])
        user.groups.add(*Group.objects.filter(name__in=groups))
        therapist = Therapist(
            user=user, clinic=clinic, display_name=display_name.strip(), is_clinic_admin=is_clinic_admin
        )
        therapist.full_clean()
        therapist.save()
    return therapist


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str

    @property
    def activation_link(self) -> str:
        return f"{settings.SITE_URL}/portal/activate/?token={self.token}"


def invitation_issue(*, patient: Patient, by: Any = None) -> IssuedInvitation:
    """Issue a single-use portal invitation: the token is returned once and stored only as a hash.

    Earlier unused invitations of the patient are revoked, so only the newest link works. The email to
    the patient leaves after commit and carries nothing but the link.
    """
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Invitation.objects.filter(patient=patient, used_at__isnull=True).update(expires_at=timezone.now())
        invitation = Invitation.objects.create(
            patient=patient,
            token_hash=hash_token(token),
            expires_at=timezone.now() + settings.INVITATION_TTL,
            created_by=by if getattr(by, "is_authenticated", False) else None,
        )
        issued = IssuedInvitation(invitation=invitation, token=token)
        # Through the outbox, in this transaction: retried with backoff, never lost, sent once per invitation.
        _queue_invitation_email(patient, invitation, issued.activation_link)
    return issued


def _queue_invitation_email(patient: Patient, invitation: Invitation, link: str) -> None:
    from assessments.notifications import queue_email

    clinic_name = patient.clinic.name
    days = settings.INVITATION_TTL.days
    body = (
        f"Hello,\n\n{clinic_name} has invited you to its patient portal, where you report on your "
        f"workouts and see your programme.\n\nSet your password here (the link works once and expires in "
        f"{days} days):\n{link}\n\nIf you did not expect this email, you can ignore it.\n"
    )
    queue_email(
        key=f"invitation:{invitation.pk}",
        clinic=patient.clinic,
        to=patient.email,
        subject=f"[{clinic_name}] Your patient portal invitation",
        text=body,
    )


def patient_invite(
    *,
    clinic: Clinic,
    therapist: Therapist,
    email: str,
    first_name: str,
    last_name: str,
    birth_date: date | None = None,
    program: Program | None = None,
    phase: str = Phase.TREATMENT,
    phase_since: date | None = None,
    by: Any = None,
) -> tuple[Patient, IssuedInvitation]:
    """Create a patient with an active enrollment (when a program is given) and invite them to the portal."""
    if therapist.clinic_id != clinic.pk:
        raise ValidationError({"therapist": f"{therapist.display_name} does not belong to {clinic.name}."})
    if phase not in (Phase.TREATMENT, Phase.STABILIZATION):
        raise ValidationError({"phase": "The starting phase must be treatment or stabilization."})
    email = email.strip().lower()
    today = timezone.localdate(timezone=clinic.tz)
    if phase_since is not None and phase_since > today:
        raise ValidationError({"phase_since": "The phase cannot begin in the future."})
    if Patient.objects.filter(clinic=clinic, email__iexact=email).exists():
        raise ValidationError({"email": f"A patient with the email {email} already exists in {clinic.name}."})
    patient = Patient(
        clinic=clinic,
        therapist=therapist,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        birth_date=birth_date,
        caseload_ref=_unused_caseload_ref(clinic),
    )
    patient.full_clean()
    try:
        with transaction.atomic():
            patient.save()
            if program is not None:
                since = phase_since or today
                enrollment = Enrollment(
                    patient=patient,
                    program=program,
                    phase=phase,
                    phase_since=since,
                    started_on=since,
                    post_workouts_per_week=program.post_workouts_per_week,
                    weekly_checkin_weekday=program.weekly_checkin_weekday,
                )
                enrollment.full_clean()
                enrollment_start(enrollment)
            issued = invitation_issue(patient=patient, by=by)
    except IntegrityError as exc:  # a concurrent invite of the same email
        raise ValidationError({"email": f"A patient with the email {email} already exists in {clinic.name}."}) from exc
    return patient, issued


def _unused_caseload_ref(clinic: Clinic) -> str:
    for _ in range(20):
        ref = new_caseload_ref()
        if not Patient.objects.filter(clinic=clinic, caseload_ref=ref).exists():
            return ref
    raise RuntimeError("could not find an unused caseload reference")  # 32^6 codes: not reachable in practice


def portal_account_activate(*, token: str, password: str) -> Patient:
    """Consume an invitation: create the patient's portal login with the chosen password.

    Single use by compare-and-swap on ``used_at`` (works on SQLite and PostgreSQL alike): of two
    concurrent activations with the same token, exactly one succeeds.
    """
    from django.contrib.auth.password_validation import validate_password

    invalid = ValidationError(
        {"token": ValidationError("This activation link is invalid, already used or expired.", code="invalid_token")}
    )
    invitation = Invitation.objects.usable().select_related("patient").filter(token_hash=hash_token(token)).first()
    if invitation is None:
        raise invalid
    patient = invitation.patient
    if patient.user_id is not None:
        raise invalid
    email = patient.email.lower()
    user = User(username=email, email=email, first_name=patient.first_name, last_name=patient.last_name)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from None
    if User.objects.filter(username__iexact=email).exists():
        raise ValidationError(
            {"token": ValidationError("An account with this email already exists; contact your clinic.", code="exists")}
        )
    with transaction.atomic():
        claimed = Invitation.objects.usable().filter(pk=invitation.pk).update(used_at=timezone.now())
        if claimed != 1:
            raise invalid
        user.set_password(password)
        user.save()
        updated = Patient.objects.filter(pk=patient.pk, user__isnull=True).update(user=user)
        if updated != 1:
            raise invalid
    patient.refresh_from_db()
    return patient


# --- forgotten passwords (patients) ------------------------------------------------------------------------


def password_reset_request(*, email: str) -> None:
    """Email a single-use, expiring reset link to the patient account with this address, through the outbox.

    Says nothing either way: the caller answers the same whether or not an account exists. The link is
    Django's password-reset token (it expires after ``PASSWORD_RESET_TIMEOUT`` and stops working once the
    password changes or the user logs in), so no token is stored.
    """
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from assessments.notifications import queue_email

    user = (
        User.objects.filter(email__iexact=email.strip(), is_active=True, patient__isnull=False)
        .select_related("patient__clinic")
        .first()
    )
    if user is None:
        return
    clinic = user.patient.clinic
    token = default_token_generator.make_token(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = f"{settings.SITE_URL}/portal/reset-password/?uid={uid}&token={token}"
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    body = (
        f"Hello,\n\nSomeone asked to reset the password of your {clinic.name} patient portal account.\n\n"
        f"Choose a new password here (the link works once and expires in {hours} hours):\n{link}\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n"
    )
    queue_email(
        key=f"password-reset:{user.pk}:{token}",
        clinic=clinic,
        to=user.email,
        subject=f"[{clinic.name}] Reset your portal password",
        text=body,
    )


def password_reset_confirm(*, uid: str, token: str, password: str) -> Any:
    """Set a new password from a reset link; every token and other session of the user ends with it."""
    from django.contrib.auth.password_validation import validate_password
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.http import urlsafe_base64_decode

    invalid = ValidationError(
        {"token": ValidationError("This reset link is invalid, already used or expired.", code="invalid_token")}
    )
    try:
        user_id = int(urlsafe_base64_decode(uid).decode())
    except (ValueError, TypeError, UnicodeDecodeError):
        raise invalid from None
    user = User.objects.filter(pk=user_id, is_active=True, patient__isnull=False).first()
    if user is None or not default_token_generator.check_token(user, token):
        raise invalid
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


# --- two-factor authentication of staff (django-otp) -----------------------------------------------------


@dataclass(frozen=True)
class TwoFactorSetup:
    config_url: str  # otpauth:// URL for an authenticator app (also as a QR code)
    secret: str  # the same key in base32, to type in by hand
    recovery_codes: list[str]  # each works once, when the phone is lost


RECOVERY_CODES = 10


def staff_two_factor_setup(*, user: Any) -> TwoFactorSetup:
    """Give a staff member a new authenticator key and new recovery codes (the old ones stop working)."""
    from base64 import b32encode

    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not user.is_staff:
        raise ValidationError({"user": "Two-factor sign-in is for staff accounts."})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        totp = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        static = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return TwoFactorSetup(totp.config_url, b32encode(totp.bin_key).decode(), codes)
