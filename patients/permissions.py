"""The API side of the access rule (``patients.access``): who may use which endpoints, and the 404 contract of
object URLs. Which rows a caller reaches is decided by the querysets' ``visible_to``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from patients.access import is_staff_member
from patients.models import patient_of


class IsPatient(BasePermission):
    """Patient endpoints: a portal user linked to a patient. Staff get 403."""

    message = "This endpoint is for patients."

    def has_permission(self, request: Request, view: Any) -> bool:
        return patient_of(request.user) is not None


class IsTherapist(BasePermission):
    """Therapist endpoints: a staff user with a staff profile (a clinic), or a superuser."""

    message = "This endpoint is for clinic staff."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_staff_member(request.user)


class ObjectScopeFirst:
    """Object URLs (``{pk}``): an object the caller cannot reach through this endpoint is a 404, whatever the
    method and whatever the caller's role, decided before the role check (403) and the method check (405).

    So a URL's answer never tells whether an object exists in another clinic or belongs to another patient:
    out of scope looks exactly like missing. ``object_scope()`` is what this caller may reach here (none for a
    role the endpoint does not serve). Anonymous callers still get 401.
    """

    object_lookup = "pk"
    scoped_object: Any = None  # the object reached, for views that want it without a second query

    def object_scope(self) -> QuerySet[Any]:
        raise NotImplementedError

    def _reachable(self, key: str) -> bool:
        if not (key.isascii() and key.isdigit()):  # "²".isdigit() is True, int("²") raises
            return False
        self.scoped_object = self.object_scope().filter(pk=int(key)).first()
        return self.scoped_object is not None

    def check_permissions(self, request: Request) -> None:
        key = self.kwargs.get(self.object_lookup)  # type: ignore[attr-defined]
        if key is not None and request.user.is_authenticated and not self._reachable(str(key)):
            raise NotFound()
        super().check_permissions(request)  # type: ignore[misc]
