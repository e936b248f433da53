"""Admin base classes that route every changelist, change page and choice list through ``visible_to``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest

from patients.models import Clinic, Patient, Therapist, staff_clinic_id


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


def is_clinic_admin(request: HttpRequest) -> bool:
    user = request.user
    if user.is_superuser:
        return True
    return bool(staff_clinic_id(user) is not None and user.groups.filter(name="Clinic administrators").exists())


class DefaultedListFilter(admin.SimpleListFilter):
    """A list filter that always has a choice selected (its default, when the URL names none), without "All"."""

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }
