"""Clinics, their therapists and patients, and portal invitations."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patients import access

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

THERAPISTS_GROUP = "Therapists"
CLINIC_ADMINS_GROUP = "Clinic administrators"

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def validate_timezone(value: str) -> None:
    """Accept only IANA time zone names (``Europe/Berlin``), not abbreviations or offsets."""
    if value not in available_timezones():
        raise ValidationError("%(value)s is not an IANA time zone name.", params={"value": value}, code="invalid")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("%(value)s is not an IANA time zone name.", params={"value": value}) from exc


def validate_weekdays(value: str) -> None:
    """Digest weekdays are digits 0 (Monday) to 6 (Sunday), each at most once, at least one."""
    if not value or any(c not in "0123456" for c in value) or len(set(value)) != len(value):
        raise ValidationError("Give weekdays as distinct digits 0 (Monday) to 6 (Sunday).", code="invalid")


class ClinicQuerySet(models.QuerySet["Clinic"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> ClinicQuerySet:
        return access.restrict(self, user, clinic="pk")


class Clinic(models.Model):
    name = models.CharField(max_length=120, unique=True)
    timezone = models.CharField(
        max_length=64, validators=[validate_timezone], help_text="IANA name, e.g. Europe/London"
    )
    digest_hour = models.PositiveSmallIntegerField(
        default=7, validators=[MaxValueValidator(23)], help_text="Local hour (0-23) at which digests are sent."
    )
    digest_weekdays = models.CharField(
        max_length=7, default="01234", validators=[validate_weekdays], help_text="0 = Monday ... 6 = Sunday."
    )
    email_high_immediately = models.BooleanField(
        default=True, help_text="Email 'high' alerts at once (otherwise they top the digest)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ClinicQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(digest_hour__lte=23), name="clinic_digest_hour_0_23"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def digest_weekday_names(self) -> list[str]:
        return [WEEKDAYS[int(d)] for d in sorted(self.digest_weekdays)]


class StaffQuerySet(models.QuerySet["Therapist"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> StaffQuerySet:
        return access.restrict(self, user, clinic="clinic_id")


class Therapist(models.Model):
    """A member of a clinic's staff: a therapist, or a clinic administrator (``is_clinic_admin``)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="therapist")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="therapists")
    display_name = models.CharField(max_length=120, help_text='Name with credentials, e.g. "Jane Roe, PT, DPT".')
    is_clinic_admin = models.BooleanField(default=False)
    next_digest_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_digest_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = StaffQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def email(self) -> str:
        return str(self.user.email)


class PatientQuerySet(models.QuerySet["Patient"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> PatientQuerySet:
        """Superusers see all, staff their clinic, a patient only themselves (``patients.access``)."""
        return access.restrict(self, user, clinic="clinic_id", own="user_id")

    def active(self) -> PatientQuerySet:
        return self.filter(status=Patient.Status.ACTIVE)


def new_caseload_ref() -> str:
    """A pseudonymous reference for emails: no name, birth date or record number in it."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "CR-" + "".join(secrets.choice(alphabet) for _ in range(6))


class Patient(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISCHARGED = "discharged", "Discharged"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="patients")
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    birth_date = models.DateField(null=True, blank=True)
    email = models.EmailField()
    caseload_ref = models.CharField(
        max_length=16, default=new_caseload_ref, help_text="Pseudonymous reference used in emails."
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="patient"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    fracture_risk = models.BooleanField(
        default=False,
        help_text="Recorded fracture risk (age 65 or over, osteoporosis, long-term steroids): a reported fall is "
        "then always urgent (rule R-02).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "email"], name="patient_email_unique_per_clinic"),
            models.UniqueConstraint(fields=["clinic", "caseload_ref"], name="patient_caseload_ref_unique_per_clinic"),
        ]
        indexes = [models.Index(fields=["therapist", "status"], name="patient_caseload_idx")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.caseload_ref})"

    def clean(self) -> None:
        super().clean()
        if self.email:
            self.email = self.email.strip().lower()
        if self.therapist_id is not None and self.clinic_id is not None:
            therapist_clinic = (
                Therapist.objects.filter(pk=self.therapist_id).values_list("clinic_id", flat=True).first()
            )
            if therapist_clinic != self.clinic_id:
                raise ValidationError({"therapist": "The assigned therapist must belong to the patient's clinic."})
        if self.birth_date and self.birth_date > timezone.localdate():
            raise ValidationError({"birth_date": "The birth date cannot be in the future."})


def patient_of(user: Any) -> Patient | None:
    """The patient a portal user is, or None (staff, anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.patient  # type: ignore[no-any-return]
    except Patient.DoesNotExist:
        return None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> InvitationQuerySet:
        return access.restrict(self, user, clinic="patient__clinic_id", own="patient__user_id")

    def usable(self) -> InvitationQuerySet:
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """A single-use portal invitation. Only the SHA-256 of the token is stored."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.patient.caseload_ref}"


class PatientReadQuerySet(models.QuerySet["PatientRead"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> PatientReadQuerySet:
        """The reads of the patients the user may see (``patients.access``); patients see none."""
        patients = access.restrict(Patient.objects.all(), user, clinic="clinic_id")
        return self.filter(object_id__in=patients.values("pk"))


class PatientReadManager(models.Manager["PatientRead"]):
    def get_queryset(self) -> PatientReadQuerySet:
        return PatientReadQuerySet(self.model, using=self._db).filter(
            action=LogEntry.Action.ACCESS, content_type__app_label="patients", content_type__model="patientread"
        )


class PatientRead(LogEntry):
    """A read of a patient's health information (``patients.reads``), as django-auditlog stored it."""

    objects = PatientReadManager()

    class Meta:
        proxy = True
        ordering = ["-timestamp"]
        verbose_name = "patient read"

    def __str__(self) -> str:
        return f"{self.object_repr} read"


auditlog.register(Patient, exclude_fields=["created_at"])
