"""Small helpers of the patients and programs tests: read admin pages and command output."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

from patients.models import Invitation, Patient, hash_token
from programs.models import Enrollment, Phase, PhaseTransition


def listed(response: HttpResponse) -> list[Any]:
    """The rows an admin changelist shows (its result list, as the template renders it)."""
    return list(response.context["cl"].result_list)


def changeform_data(response: HttpResponse, **changes: Any) -> dict[str, Any]:
    """The POST body an admin change form would send unchanged (main form, inlines, management forms)."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data: dict[str, Any] = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    data.update(changes)
    return data


def activation_token(output: str) -> str:
    match = re.search(r"/activate/\?token=([\w-]+)", output)
    assert match is not None, output
    return match.group(1)


def record_transition(enrollment: Enrollment, **fields: Any) -> PhaseTransition:
    """A history row of the move into the enrollment's current (stabilization) phase."""
    values: dict[str, Any] = {
        "from_phase": Phase.TREATMENT,
        "to_phase": enrollment.phase,
        "effective_date": enrollment.phase_since,
        "by": enrollment.patient.therapist.user,
        "reason": "Settled within 24 h for two weeks",
    }
    values.update(fields)
    return PhaseTransition.objects.create(enrollment=enrollment, **values)


def issue_invitation(patient: Patient) -> Invitation:
    return Invitation.objects.create(
        patient=patient, token_hash=hash_token(secrets.token_urlsafe(16)), expires_at=timezone.now() + timedelta(days=7)
    )
