"""FHIR R4 export of one patient: Patient, a QuestionnaireResponse per entry, an Observation per scored
value and a Flag per unresolved alert, as a ``collection`` Bundle (for moving data to an EHR)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from assessments import questionnaires as q
from assessments.models import Alert, Entry
from patients.models import Patient

LOINC = "http://loinc.org"
# LOINC 72514-3: pain severity, 0-10 verbal numeric rating, reported.
PAIN_SCORE_LOINC = "72514-3"
PAIN_FIELDS = {"back_pain_now", "back_pain_during_max", "back_pain_avg_7d", "leg_pain_avg_7d"}


def _system(name: str) -> str:
    return f"{settings.SITE_URL}/fhir/{name}"


def _answer(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    return {"valueString": str(value)}


def _items(entry: Entry) -> list[dict[str, Any]]:
    items = []
    for name, value in entry.answers().items():
        if value is None or value == "":
            continue
        answers = [_answer(v) for v in value] if isinstance(value, list) else [_answer(value)]
        items.append({"linkId": name, "answer": answers} if answers else {"linkId": name})
    return items


def _observations(entry: Entry, patient_ref: str) -> list[dict[str, Any]]:
    scales = q.POST_WORKOUT_SCALES if entry.kind == q.POST_WORKOUT else q.WEEKLY_SCALES
    out = []
    for name in scales:
        value = getattr(entry, name)
        if value is None:
            continue
        coding = [{"system": _system("CodeSystem/self-assessment"), "code": name}]
        if name in PAIN_FIELDS:
            coding.insert(0, {"system": LOINC, "code": PAIN_SCORE_LOINC, "display": "Pain severity 0-10 (reported)"})
        out.append(
            {
                "fullUrl": f"urn:uuid:observation-{entry.pk}-{name}",
                "resource": {
                    "resourceType": "Observation",
                    "id": f"entry-{entry.pk}-{name}",
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "survey",
                                }
                            ]
                        }
                    ],
                    "code": {"coding": coding, "text": name.replace("_", " ")},
                    "subject": {"reference": patient_ref},
                    "effectiveDateTime": entry.occurred_at.isoformat(),
                    "valueInteger": value,
                    "derivedFrom": [{"reference": f"QuestionnaireResponse/entry-{entry.pk}"}],
                },
            }
        )
    return out


def patient_bundle(*, patient: Patient) -> dict[str, Any]:
    """The Bundle of one patient: three queries (the patient is given; entries; unresolved alerts)."""
    patient_ref = f"Patient/{patient.pk}"
    resources: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:patient-{patient.pk}",
            "resource": {
                "resourceType": "Patient",
                "id": str(patient.pk),
                "identifier": [{"system": _system("caseload-reference"), "value": patient.caseload_ref}],
                "active": patient.status == Patient.Status.ACTIVE,
                "name": [{"family": patient.last_name, "given": [patient.first_name]}],
                "telecom": [{"system": "email", "value": patient.email}],
                **({"birthDate": patient.birth_date.isoformat()} if patient.birth_date else {}),
            },
        }
    ]
    for entry in Entry.objects.filter(patient=patient).order_by("occurred_at", "id"):
        resources.append(
            {
                "fullUrl": f"urn:uuid:questionnaire-response-{entry.pk}",
                "resource": {
                    "resourceType": "QuestionnaireResponse",
                    "id": f"entry-{entry.pk}",
                    "questionnaire": _system(f"Questionnaire/{entry.kind}-v{entry.questionnaire_version}"),
                    "status": "completed",
                    "subject": {"reference": patient_ref},
                    "authored": entry.submitted_at.isoformat(),
                    "item": _items(entry),
                },
            }
        )
        resources.extend(_observations(entry, patient_ref))
    for alert in Alert.objects.filter(patient=patient).unresolved().order_by("severity_rank", "raised_at"):
        resources.append(
            {
                "fullUrl": f"urn:uuid:flag-{alert.pk}",
                "resource": {
                    "resourceType": "Flag",
                    "id": f"alert-{alert.pk}",
                    "status": "active",
                    "category": [{"coding": [{"system": _system("CodeSystem/severity"), "code": alert.severity}]}],
                    "code": {
                        "coding": [{"system": _system("CodeSystem/rules-core"), "code": alert.rule_id}],
                        "text": alert.title,
                    },
                    "subject": {"reference": patient_ref},
                    "period": {"start": alert.raised_at.isoformat()},
                },
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
        "entry": resources,
    }
