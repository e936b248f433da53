"""Admin pages show times in the staff member's clinic time zone (the database and the API stay in UTC)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from patients.access import staff_clinic_id
from patients.models import Clinic


class ClinicTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        clinic_id = staff_clinic_id(request.user) if request.path.startswith("/admin/") else None
        if clinic_id is None:
            return self.get_response(request)
        name = Clinic.objects.filter(pk=clinic_id).values_list("timezone", flat=True).first()
        if name is None:
            return self.get_response(request)
        with timezone.override(name):
            return self.get_response(request)
