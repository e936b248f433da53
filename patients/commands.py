"""Lookups shared by the operator commands: a clinic by name, a therapist of that clinic by email."""

from __future__ import annotations

from django.core.management.base import CommandError

from patients.models import Clinic, Therapist


def get_clinic(name: str) -> Clinic:
    """The clinic of that name (any case), or of that id when ``name`` is a number."""
    key = name.strip()
    clinic = Clinic.objects.filter(pk=int(key)).first() if key.isascii() and key.isdigit() else None
    clinic = clinic or Clinic.objects.filter(name__iexact=key).first()
    if clinic is None:
        raise CommandError(f"Unknown clinic {name!r}")
    return clinic


def get_therapist(email: str, clinic: Clinic) -> Therapist:
    therapist = Therapist.objects.select_related("clinic", "user").filter(user__email__iexact=email.strip()).first()
    if therapist is None:
        raise CommandError(f"Unknown therapist {email!r}")
    if therapist.clinic_id != clinic.pk:
        raise CommandError(f"Therapist {email!r} belongs to {therapist.clinic.name!r}, not {clinic.name!r}")
    return therapist
