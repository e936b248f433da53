"""FHIR R4 export of one patient: Patient, a QuestionnaireResponse per entry, an Observation per scored
value and a Flag per unresolved alert, as a ``collection`` Bundle (for moving data to an EHR)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from assessments import questionnaires as q
from assessments.models import Alert, Entry
from patients.models import Patient

# The questionnaires' own code system; each field's code and standard (LOINC) codes come from the declaration.
SELF_ASSESSMENT_CODES = "CodeSystem/self-assessment"


def _system(name: str) -> str:
    return f"{settings.SITE_URL}/fhir/{name}"


def _answer(f: q.Field, value: Any) -> dict[str, Any]:
    if f.type == q.BOOL:
        return {"valueBoolean": value}
    if f.type == q.INT:
        return {"valueInteger": value}
    return {"valueString": str(value)}


def _items(entry: Entry) -> list[dict[str, Any]]:
    items = []
    for f in q.fields_of(entry.kind):
        value = getattr(entry, f.name)
        if value is None or value == "" or value == []:
            continue
        answers = [_answer(f, v) for v in value] if f.type == q.LIST else [_answer(f, value)]
        items.append({"linkId": f.fhir_code, "answer": answers})
    return items


def _observations(entry: Entry, patient_ref: str) -> list[dict[str, Any]]:
    out = []
    for f in q.fields_of(entry.kind):
        value = getattr(entry, f.name)
        if f.type != q.INT or value is None:
            continue
        name = f.fhir_code
        coding = [{"system": _system(SELF_ASSESSMENT_CODES), "code": name}]
        if f.loinc is not None:
            coding.insert(0, {"system": f.loinc.system, "code": f.loinc.code, "display": f.loinc.display})
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
                    "code": {"coding": coding, "text": f.label},
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
