"""Who may use which endpoints. Object scope is not decided here: querysets use ``visible_to``."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from patients.models import Patient, staff_profile


def patient_of(user: Any) -> Patient | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.patient  # type: ignore[no-any-return]
    except Patient.DoesNotExist:
        return None


class IsPatient(BasePermission):
    """Patient endpoints: a portal user linked to a patient. Staff get 403."""

    message = "This endpoint is for patients."

    def has_permission(self, request: Request, view: Any) -> bool:
        return patient_of(request.user) is not None


class IsTherapist(BasePermission):
    """Therapist endpoints: a staff user with a staff profile (a clinic), or a superuser."""

    message = "This endpoint is for clinic staff."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user.is_authenticated and (user.is_superuser or staff_profile(user) is not None))
