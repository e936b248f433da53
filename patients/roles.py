"""The two staff groups and their model permissions.

Therapists see and work on their clinic's patients; clinic administrators also manage clinics, staff,
programs, rule thresholds and schedules. Superusers are not scoped to a clinic.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from patients.models import CLINIC_ADMINS_GROUP, THERAPISTS_GROUP

# app_label.model -> actions, for each group. Models of apps not yet installed are skipped.
THERAPIST_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "patients.clinic": ("view",),
    "patients.therapist": ("view",),
    "patients.patient": ("view", "add", "change"),
    "programs.program": ("view",),
    "programs.exercise": ("view",),
    "programs.enrollment": ("view", "add", "change"),
    "programs.prescribedexercise": ("view", "add", "change", "delete"),
    "programs.phasetransition": ("view",),
    "programs.outcomescore": ("view", "add"),
    "assessments.entry": ("view",),
    "assessments.alert": ("view", "change"),
    "assessments.outgoingemail": ("view",),
    "assessments.redflagreport": ("view",),
}
CLINIC_ADMIN_PERMISSIONS: dict[str, tuple[str, ...]] = {
    **{key: ("view", "add", "change", "delete") for key in THERAPIST_PERMISSIONS},
    "patients.invitation": ("view",),
    "patients.patientread": ("view",),
    "assessments.entry": ("view",),
    "assessments.redflagreport": ("view",),
    "assessments.ruleset": ("view", "add", "change"),
    "django_celery_beat.periodictask": ("view", "add", "change", "delete"),
    "django_celery_beat.crontabschedule": ("view", "add", "change", "delete"),
    "django_celery_beat.intervalschedule": ("view", "add", "change", "delete"),
}


def _permissions(spec: dict[str, tuple[str, ...]], using: str) -> list[Permission]:
    query = Q(pk__in=[])
    for key, actions in spec.items():
        app_label, model = key.split(".")
        try:
            apps.get_model(app_label, model)
        except LookupError:
            continue
        query |= Q(content_type__app_label=app_label, codename__in=[f"{a}_{model}" for a in actions])
    return list(Permission.objects.using(using).filter(query))


def ensure_staff_groups(*, using: str = "default") -> None:
    for name, spec in ((THERAPISTS_GROUP, THERAPIST_PERMISSIONS), (CLINIC_ADMINS_GROUP, CLINIC_ADMIN_PERMISSIONS)):
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(_permissions(spec, using))
