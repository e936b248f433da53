"""The admin site of the clinic: its landing page is the therapist's attention view, not Django's app list."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django_otp.admin import OTPAdminAuthenticationForm

from assessments import workspace
from patients.reads import record_reads


class ClinicAdminSite(admin.AdminSite):
    """With ``STAFF_2FA_REQUIRED`` (production), signing in asks for a one-time code too (django-otp), and a
    session that was not verified by a device reaches no admin page."""

    site_header = "Clinic back-pain programme"
    site_title = "Clinic admin"
    index_title = "Needs attention"

    def has_permission(self, request: HttpRequest) -> bool:
        allowed = super().has_permission(request)
        if allowed and settings.STAFF_2FA_REQUIRED:
            return bool(request.user.is_verified())  # type: ignore[union-attr]
        return allowed

    @property
    def login_form(self) -> Any:  # type: ignore[override]
        """django-otp's login form (password, device, code) while 2FA is required; Django's otherwise."""
        return OTPAdminAuthenticationForm if settings.STAFF_2FA_REQUIRED else None

    @property
    def login_template(self) -> str | None:  # type: ignore[override]
        return "otp/admin111/login.html" if settings.STAFF_2FA_REQUIRED else None

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """What needs acting on now: open alerts most severe first, then the patients to look at."""
        now = timezone.now()
        user = request.user
        rows = workspace.attention_rows(user, now)
        record_reads(request, (row.alert.patient for row in rows), "attention view")
        context = {
            **self.each_context(request),
            "title": self.index_title,
            "subtitle": None,
            "app_list": self.get_app_list(request),
            "rows": rows,
            "counts": workspace.severity_counts(user),
            "quiet": workspace.quiet_patients(user, now),
            "low_adherence": workspace.low_adherence(user, now),
            "phase_review": workspace.phase_review_due(user, timezone.localdate()),
            "limits": {
                "quiet_days": workspace.QUIET_DAYS,
                "attention": workspace.ATTENTION_LIMIT,
            },
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/workspace/attention.html", context)
