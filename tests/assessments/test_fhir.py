"""The FHIR R4 export of one patient, for therapists of the patient's clinic."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from assessments.scanning import scan_patients
from assessments.services import assessment_submit

RED_FLAG_SESSION = {
    "session_completed": "stopped_symptoms",
    "back_pain_now": 6,
    "back_pain_during_max": 7,
    "back_stiffness_now": 5,
    "stiffness_change": "stiffer",
    "spine_check": "clearly_restricted",
    "neck_symptoms": "none",
    "thigh_symptoms": "none",
    "safety_screen": ["bladder_change"],
    "note": "felt odd",
}


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def reported(world: Any, django_capture_on_commit_callbacks: Any) -> Any:
    submitted = assessment_submit(patient=world.patient, kind="post_workout", answers=RED_FLAG_SESSION)
    scan_patients([world.patient.pk])
    return submitted.entry


def test_bundle_holds_patient_responses_observations_and_flags(world: Any, reported: Any) -> None:
    response = _client(world.therapist.user).get(f"/api/v1/patients/{world.patient.pk}/fhir/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    by_type: dict[str, list[dict[str, Any]]] = {}
    for item in bundle["entry"]:
        by_type.setdefault(item["resource"]["resourceType"], []).append(item["resource"])
    [patient] = by_type["Patient"]
    assert patient["identifier"][0]["value"] == world.patient.caseload_ref
    assert patient["name"] == [{"family": world.patient.last_name, "given": [world.patient.first_name]}]
    [questionnaire_response] = by_type["QuestionnaireResponse"]
    answers = {item["linkId"]: item["answer"] for item in questionnaire_response["item"]}
    assert answers["back_pain_now"] == [{"valueInteger": 6}]
    assert answers["safety_screen"] == [{"valueString": "bladder_change"}]
    observations = {o["code"]["coding"][-1]["code"]: o for o in by_type["Observation"]}
    assert set(observations) == {"back_pain_now", "back_pain_during_max", "back_stiffness_now"}
    assert observations["back_pain_now"]["valueInteger"] == 6
    assert observations["back_pain_now"]["code"]["coding"][0]["code"] == "72514-3"
    assert observations["back_pain_now"]["derivedFrom"] == [{"reference": f"QuestionnaireResponse/entry-{reported.pk}"}]
    flags = {f["code"]["coding"][0]["code"] for f in by_type["Flag"]}
    assert "R-01" in flags


def test_another_clinics_patient_and_any_patient_get_a_404(world: Any, reported: Any) -> None:
    url = f"/api/v1/patients/{world.patient.pk}/fhir/"
    assert _client(world.outsider.user).get(url).status_code == 404
    assert _client(world.patient.user).get(url).status_code == 404  # out of scope looks like missing
    assert APIClient().get(url).status_code == 401
    assert _client(world.colleague.user).get(url).status_code == 200


def test_bundle_uses_a_fixed_number_of_queries(world: Any, reported: Any, django_assert_num_queries: Any) -> None:
    client = _client(world.therapist.user)
    # patient (scoped to the clinic), entries, unresolved alerts; the staff profile is cached on the user
    with django_assert_num_queries(4):  # with the audit of the read
        client.get(f"/api/v1/patients/{world.patient.pk}/fhir/")
