"""Lookups shared by the operator commands: a clinic by name, a therapist of that clinic by email."""

from __future__ import annotations

from django.core.management.base import CommandError

from patients.models import Clinic, Therapist


def get_clinic(name: str) -> Clinic:
    try:
        return Clinic.objects.get(name__iexact=name.strip())
    except Clinic.DoesNotExist:
        raise CommandError(f"Unknown clinic {name!r}") from None


def get_therapist(email: str, clinic: Clinic) -> Therapist:
    therapist = Therapist.objects.select_related("clinic", "user").filter(user__email__iexact=email.strip()).first()
    if therapist is None:
        raise CommandError(f"Unknown therapist {email!r}")
    if therapist.clinic_id != clinic.pk:
        raise CommandError(f"Therapist {email!r} belongs to {therapist.clinic.name!r}, not {clinic.name!r}")
    return therapist
