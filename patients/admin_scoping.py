"""The admin side of the access rule (``patients.access``): every changelist, change page and choice list of
rows goes through ``visible_to``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest

from patients.models import Clinic, Patient, Therapist


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A record nobody adds, changes or deletes in the admin (entries, reports, history, audit): view only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ClinicScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A staff user sees only their clinic's rows; another clinic's row is a 404, like a missing one."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[attr-defined,no-any-return]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # Django answers a missing object with a redirect to the index ("doesn't exist"), and the
        # auditlog history page fails on it; every page of a missing or hidden row is a plain 404.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        related = db_field.related_model
        if related in (Clinic, Patient, Therapist):
            kwargs["queryset"] = related.objects.visible_to(request.user)  # type: ignore[union-attr]
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
