"""Who may see what: the one access rule of the product, written once.

- Anonymous callers see nothing.
- A superuser sees every clinic's rows.
- A member of a clinic's staff (a user with a ``Therapist`` profile) sees the rows of their own clinic.
- A patient (a portal user linked to a ``Patient``) sees their own rows, where the model has any for them.

Every queryset's ``visible_to`` calls :func:`restrict`, naming only where the model keeps its clinic and its
patient's user; the admin (``patients.admin_scoping``) and the API (``patients.permissions``) reach rows only
through ``visible_to``. This module imports no model, so that the models can import it.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Q, QuerySet

QS = TypeVar("QS", bound=QuerySet[Any])
M = TypeVar("M", bound=Model)


class StaffProfile(Protocol):
    """What the rule reads of a staff profile (``patients.models.Therapist``)."""

    pk: Any
    clinic_id: int
    is_clinic_admin: bool


def staff_profile(user: Any) -> StaffProfile | None:
    """The staff profile of a user, or None (patients, anonymous users, superusers without one).

    Django caches the reverse one-to-one on the user object, hits and misses alike, so this asks the
    database at most once per request.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.therapist  # type: ignore[no-any-return]
    except ObjectDoesNotExist:
        return None


def staff_clinic_id(user: Any) -> int | None:
    """The clinic whose rows a staff user sees; None for anyone who is not on a clinic's staff."""
    profile = staff_profile(user)
    return profile.clinic_id if profile is not None else None


def is_staff_member(user: Any) -> bool:
    """A superuser, or a user on a clinic's staff: the callers of the therapist endpoints."""
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or staff_profile(user) is not None))


def patient_profile(user: Any) -> Any | None:
    """The patient a portal user is (``patients.models.Patient``), or None; cached on the user as ``staff_profile``.

    The API's token authentication reads it with the user, so a patient's request asks nothing more here.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.patient
    except ObjectDoesNotExist:
        return None


def restrict(queryset: QS, user: Any, *, clinic: str, own: str | None = None, own_patient: str | None = None) -> QS:
    """``queryset`` cut down to what ``user`` may see.

    ``clinic`` is the lookup of the row's clinic id (``"clinic_id"``, ``"patient__clinic_id"``, ``"pk"`` for a
    clinic itself); ``own`` the lookup of its patient's user id, or None when patients see none of these rows.
    ``own_patient``, when given, is the lookup of the row's patient id: a patient's rows are then found by their
    patient's id (an index of the row's table) instead of by a join to the patients.
    """
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user.is_superuser:
        return queryset.all()
    clinic_id = staff_clinic_id(user)
    if clinic_id is not None:
        return queryset.filter(**{clinic: clinic_id})
    if own is None:
        return queryset.none()
    if own_patient is not None:
        patient = patient_profile(user)
        return queryset.filter(**{own_patient: patient.pk}) if patient is not None else queryset.none()
    return queryset.filter(**{own: user.pk})


def shared_or_own(queryset: QS, user: Any, *, clinic: str) -> QS:
    """Rows shared by every clinic (their ``clinic`` is empty) and the staff user's clinic's own.

    Superusers see every clinic's; patients and anonymous callers none (they reach these rows through their
    own records only).
    """
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user.is_superuser:
        return queryset.all()
    clinic_id = staff_clinic_id(user)
    if clinic_id is None:
        return queryset.none()
    lookup = clinic.removesuffix("_id")
    return queryset.filter(Q(**{f"{lookup}__isnull": True}) | Q(**{clinic: clinic_id}))


def staff_only(queryset: QS, user: Any) -> QS:
    """Rows every clinic's staff shares (the built-in rulesets); patients and anonymous callers see none."""
    return queryset.all() if is_staff_member(user) else queryset.none()


class ClinicScopedQuerySet(QuerySet[M]):
    """Rows reached through a patient: staff see their clinic's, a patient their own.

    ``patient_path`` is the lookup from the row to its patient (``"patient"``, ``"enrollment__patient"``).
    """

    patient_path = "patient"

    def visible_to(self, user: Any) -> ClinicScopedQuerySet[M]:
        path = self.patient_path
        return restrict(self, user, clinic=f"{path}__clinic_id", own=f"{path}__user_id", own_patient=f"{path}_id")
