"""The FHIR R4 export of one patient, for therapists of the patient's clinic, and the Questionnaires it names.

Every Bundle and Questionnaire is checked with fhir.resources (its R4B models match R4 for these resources),
and every reference inside a Bundle must resolve to one of its fullUrls.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from rest_framework.test import APIClient

from assessments.alerts import alert_acknowledge, alert_resolve
from assessments.models import Alert, Entry
from assessments.scanning import scan_patients
from patients.models import Patient
from programs.models import OutcomeScore
from programs.services import outcome_score_record
from tests.assessments.factories import AlertFactory
from tests.assessments.helpers import NOW, TODAY, submit_session, submit_weekly

FHIR_JSON = "application/fhir+json"
LOINC_PAIN = "72514-3"
ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

# Every choice of the post-workout questionnaire answered, leg symptoms on the left, a red flag reported.
RED_FLAG_SESSION = {
    "session_completed": "stopped_symptoms",
    "back_pain_now": 6,
    "back_pain_during_max": 7,
    "back_stiffness_now": 5,
    "stiffness_change": "stiffer",
    "spine_check": "clearly_restricted",
    "neck_symptoms": "pain_into_arm",
    "neck_level": 4,
    "thigh_symptoms": "left",
    "thigh_level": 3,
    "thigh_stretch_response": "worse",
    "thigh_below_knee": True,
    "thigh_nerve_qualities": ["pins_needles", "numbness"],
    "safety_screen": ["bladder_change", "saddle_numbness"],
    "safety_screen_unchanged": ["bladder_change"],
    "note": "felt odd",
}
# Every choice of the weekly check-in answered: long morning stiffness (so "eases with movement" applies).
LONG_STIFFNESS_WEEKLY = {
    "back_pain_avg_7d": 4,
    "leg_pain_avg_7d": 2,
    "peg_pain": 4,
    "peg_enjoyment": 3,
    "peg_activity": 5,
    "morning_stiffness_level": 6,
    "morning_stiffness_duration": "60_120",
    "stiffness_eases_with_movement": True,
    "psfs_1": 5,
    "psfs_2": 6,
    "psfs_3": 6,
}


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _url(patient: Patient, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/patients/{patient.pk}/fhir/" + (f"?{query}" if query else "")


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def valid_bundle(response: Any) -> dict[str, Any]:
    """The Bundle of a 200 response, after checking it is valid FHIR and self-contained."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    bundle: dict[str, Any] = response.json()
    Bundle.model_validate(bundle)  # raises with every error it finds
    full_urls = [item["fullUrl"] for item in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for full_url in full_urls:
        assert full_url.startswith("urn:uuid:")
        assert str(uuid.UUID(full_url.removeprefix("urn:uuid:"))) == full_url.removeprefix("urn:uuid:")
    assert all(ID.match(item["resource"]["id"]) for item in bundle["entry"])
    dangling = set(_references(bundle)) - set(full_urls)
    assert not dangling, dangling
    return bundle


def by_type(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for item in bundle["entry"]:
        out.setdefault(item["resource"]["resourceType"], []).append(item["resource"])
    return out


def own_code(resource: dict[str, Any]) -> str:
    """The code of an Observation or Flag in this site's own code system (the last coding)."""
    code: str = resource["code"]["coding"][-1]["code"]
    return code


def answers_of(response: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {item["linkId"]: item["answer"] for item in response["item"]}


@pytest.fixture
def history(world: Any, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """Every kind of entry, outcome scores, and alerts open, acknowledged and resolved (a red flag among them)."""
    patient = world.patient
    quiet = submit_session(patient, days_ago=6)  # an empty safety screen
    red_flag = submit_session(patient, days_ago=5, **RED_FLAG_SESSION)
    weekly = submit_weekly(patient, days_ago=4, **LONG_STIFFNESS_WEEKLY)
    screened = submit_weekly(patient, days_ago=1, systemic_flags=["night_pain_unrelenting"], safety_screen=[])
    by = world.therapist.user
    for instrument, score in (("ODI", "32"), ("PSFS", "5.7"), ("other", "12")):
        outcome_score_record(
            score=OutcomeScore(
                patient=patient, instrument=instrument, score=Decimal(score), recorded_on=TODAY - dt.timedelta(days=3)
            ),
            by=by,
        )
    scan_patients([patient.pk])
    red = Alert.objects.get(patient=patient, rule_id="R-01")
    alert_resolve(alert=red, by=by, note="Seen in clinic the same day; referred.")
    acknowledged: Alert = AlertFactory(patient=patient, rule_id="R-05", qualifier="export")
    alert_acknowledge(alert=acknowledged, by=by)
    opened = AlertFactory(patient=patient, rule_id="R-03", qualifier="export")
    return {
        "quiet": quiet,
        "red_flag": red_flag,
        "weekly": weekly,
        "screened": screened,
        "resolved": red,
        "acknowledged": acknowledged,
        "open": opened,
    }


def test_bundle_of_every_kind_of_entry_score_and_alert_is_valid_fhir(world: Any, history: dict[str, Any]) -> None:
    bundle = valid_bundle(_client(world.therapist.user).get(_url(world.patient)))

    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    resources = by_type(bundle)
    [patient] = resources["Patient"]
    assert patient["identifier"][0]["value"] == world.patient.caseload_ref
    assert patient["name"] == [{"family": world.patient.last_name, "given": [world.patient.first_name]}]
    assert len(resources["QuestionnaireResponse"]) == Entry.objects.filter(patient=world.patient).count() == 4
    assert len(resources["Flag"]) == Alert.objects.filter(patient=world.patient).count()
    patient_url = bundle["entry"][0]["fullUrl"]
    assert all(r["subject"] == {"reference": patient_url} for t in ("Observation", "Flag") for r in resources[t])


def test_full_urls_are_stable_across_exports_and_distinct_between_patients(world: Any, history: Any) -> None:
    client = _client(world.therapist.user)
    first = [item["fullUrl"] for item in valid_bundle(client.get(_url(world.patient)))["entry"]]
    second = [item["fullUrl"] for item in valid_bundle(client.get(_url(world.patient)))["entry"]]
    other = [item["fullUrl"] for item in valid_bundle(client.get(_url(world.other_patient)))["entry"]]

    assert first == second
    assert not set(first) & set(other)


def test_each_questionnaire_response_names_a_questionnaire_that_answers_and_holds_its_answers(
    world: Any, history: Any
) -> None:
    bundle = valid_bundle(_client(world.therapist.user).get(_url(world.patient)))
    anonymous = APIClient()

    for response in by_type(bundle)["QuestionnaireResponse"]:
        url = response["questionnaire"]
        assert url.startswith(settings.SITE_URL + "/api/v1/fhir/Questionnaire/")
        served = anonymous.get(url.removeprefix(settings.SITE_URL))
        assert served.status_code == 200
        assert served["Content-Type"].startswith(FHIR_JSON)
        questionnaire = served.json()
        Questionnaire.model_validate(questionnaire)
        assert questionnaire["url"] == url
        items = {item["linkId"]: item for item in questionnaire["item"]}
        for item in response["item"]:
            question = items[item["linkId"]]
            for answer in item["answer"]:
                if question["type"] == "choice":
                    assert answer["valueCoding"] in [option["valueCoding"] for option in question["answerOption"]]
                else:
                    assert set(answer) == {f"value{question['type'].capitalize()}"} or question["type"] == "text"


def test_choices_are_codings_and_an_empty_screen_is_answered_none(world: Any, history: dict[str, Any]) -> None:
    bundle = valid_bundle(_client(world.therapist.user).get(_url(world.patient)))
    responses = {r["id"]: answers_of(r) for r in by_type(bundle)["QuestionnaireResponse"]}
    red_flag = responses[f"entry-{history['red_flag'].pk}"]
    quiet = responses[f"entry-{history['quiet'].pk}"]
    screened = responses[f"entry-{history['screened'].pk}"]

    [session] = red_flag["session_completed"]
    assert session["valueCoding"]["code"] == "stopped_symptoms"
    assert session["valueCoding"]["display"] == "I stopped because of symptoms"
    assert session["valueCoding"]["system"].startswith(settings.SITE_URL)
    assert [a["valueCoding"]["code"] for a in red_flag["safety_screen"]] == ["bladder_change", "saddle_numbness"]
    assert [a["valueCoding"]["code"] for a in red_flag["thigh_nerve_qualities"]] == ["pins_needles", "numbness"]
    assert red_flag["thigh_below_knee"] == [{"valueBoolean": True}]
    assert red_flag["note"] == [{"valueString": "felt odd"}]
    # A negative screen is answered "none of these", not left out like a question that was not asked.
    for answers in (quiet, screened):
        assert [a["valueCoding"]["code"] for a in answers["safety_screen"]] == ["none"]
    assert [a["valueCoding"]["code"] for a in screened["systemic_flags"]] == ["night_pain_unrelenting"]
    assert "neck_level" not in quiet  # not applicable: not asked
    assert "note" not in quiet


def test_pain_measures_are_told_apart_by_code_and_body_site(world: Any, history: dict[str, Any]) -> None:
    bundle = valid_bundle(_client(world.therapist.user).get(_url(world.patient)))
    red_flag_prefix = f"entry-{history['red_flag'].pk}-"
    weekly_prefix = f"entry-{history['weekly'].pk}-"
    observations = {
        o["id"]: o for o in by_type(bundle)["Observation"] if o["id"].startswith((red_flag_prefix, weekly_prefix))
    }

    def site(name: str, prefix: str) -> str:
        code: str = observations[prefix + name]["bodySite"]["coding"][0]["code"]
        return code

    pain = {
        (own_code(o), o["bodySite"]["coding"][0]["code"])
        for o in observations.values()
        if o["code"]["coding"][0]["code"] == LOINC_PAIN
    }
    assert {name for name, _ in pain} == {
        "back_pain_now",
        "back_pain_during_max",
        "back_pain_avg_7d",
        "leg_pain_avg_7d",
    }
    assert len(pain) == 4
    assert site("back-pain-now", red_flag_prefix) == "37822005"  # lower back
    assert site("leg-pain-avg-7d", weekly_prefix) == "61685007"  # lower limb
    assert site("neck-level", red_flag_prefix) == "45048000"  # neck
    assert site("thigh-level", red_flag_prefix) == "32153003"  # left lower limb
    for name in ("back-stiffness-now", "neck-level", "thigh-level"):
        assert observations[red_flag_prefix + name]["code"]["coding"][0]["code"] != LOINC_PAIN
    average = observations[weekly_prefix + "back-pain-avg-7d"]
    assert average["effectivePeriod"]["end"] == history["weekly"].occurred_at.isoformat()
    assert observations[red_flag_prefix + "back-pain-now"]["valueInteger"] == 6


def test_peg_and_psfs_scores_are_observations_derived_from_their_items(world: Any, history: dict[str, Any]) -> None:
    bundle = valid_bundle(_client(world.therapist.user).get(_url(world.patient)))
    full_urls = {item["resource"]["id"]: item["fullUrl"] for item in bundle["entry"]}
    prefix = f"entry-{history['weekly'].pk}-"
    observations = {o["id"]: o for o in by_type(bundle)["Observation"]}

    peg = observations[prefix + "peg-score"]
    assert peg["code"]["coding"][0]["code"] == "91147-9"
    assert peg["valueQuantity"]["value"] == 4.0
    assert peg["derivedFrom"] == [
        {"reference": full_urls[f"entry-{history['weekly'].pk}"]},
        *({"reference": full_urls[prefix + item]} for item in ("peg-pain", "peg-enjoyment", "peg-activity")),
    ]
    assert observations[prefix + "psfs-score"]["valueQuantity"]["value"] == 5.7
    outcomes = {own_code(o): o for o in observations.values() if o["id"].startswith("outcome-")}
    assert set(outcomes) == {"ODI", "PSFS", "other"}
    assert outcomes["ODI"]["valueQuantity"] == {
        "value": 32.0,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    assert outcomes["ODI"]["effectiveDateTime"] == (TODAY - dt.timedelta(days=3)).isoformat()


def test_flags_are_clinical_with_severity_as_priority_and_resolved_ones_inactive(
    world: Any, history: dict[str, Any]
) -> None:
    bundle = valid_bundle(_client(world.therapist.user).get(_url(world.patient)))
    flags = {f["id"]: f for f in by_type(bundle)["Flag"]}
    resolved = flags[f"alert-{history['resolved'].pk}"]
    acknowledged = flags[f"alert-{history['acknowledged'].pk}"]
    opened = flags[f"alert-{history['open'].pk}"]

    for flag in flags.values():
        assert flag["category"][0]["coding"][0]["system"] == "http://terminology.hl7.org/CodeSystem/flag-category"
        assert flag["category"][0]["coding"][0]["code"] == "clinical"
    assert (resolved["status"], own_code(resolved)) == ("inactive", "R-01")
    assert resolved["period"]["end"] == history["resolved"].resolved_at.isoformat()
    assert (acknowledged["status"], opened["status"]) == ("active", "active")
    assert "end" not in opened["period"]
    [priority] = [e for e in resolved["extension"] if e["url"].endswith("/flag-priority")]
    assert [c["code"] for c in priority["valueCodeableConcept"]["coding"]] == ["PH", "urgent"]
    # The red flag's evidence: the entry that reported it, as a reference inside the Bundle.
    details = [e["valueReference"]["reference"] for e in resolved["extension"] if e["url"].endswith("/flag-detail")]
    red_flag_url = next(
        i["fullUrl"] for i in bundle["entry"] if i["resource"]["id"] == f"entry-{history['red_flag'].pk}"
    )
    assert red_flag_url in details


def test_date_range_limits_entries_scores_and_alerts(world: Any, history: dict[str, Any]) -> None:
    client = _client(world.therapist.user)
    day = (TODAY - dt.timedelta(days=4)).isoformat()

    bundle = valid_bundle(client.get(_url(world.patient, since=day, until=day)))

    resources = by_type(bundle)
    assert [r["id"] for r in resources["QuestionnaireResponse"]] == [f"entry-{history['weekly'].pk}"]
    assert not [o for o in resources["Observation"] if o["id"].startswith("outcome-")]  # recorded 3 days ago
    assert "Flag" not in resources  # all raised today
    everything = by_type(valid_bundle(client.get(_url(world.patient, since=TODAY.isoformat()))))
    assert "QuestionnaireResponse" not in everything
    # every alert: raised today, the resolved one resolved today
    assert len(everything["Flag"]) == Alert.objects.filter(patient=world.patient).count()
    later = by_type(valid_bundle(client.get(_url(world.patient, since=(TODAY + dt.timedelta(days=1)).isoformat()))))
    # Still-active alerts overlap any later day; the red flag resolved today does not.
    assert {f["id"] for f in later["Flag"]} == {
        f"alert-{a.pk}" for a in Alert.objects.filter(patient=world.patient).exclude(status__in=Alert.CLOSED)
    }
    assert f"alert-{history['resolved'].pk}" not in {f["id"] for f in later["Flag"]}


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"since": "2026-13-01"}, "since", "invalid"),
        ({"until": "yesterday"}, "until", "invalid"),
        ({"since": "0001-01-01"}, "since", "out_of_range"),
        ({"until": "9999-12-31"}, "until", "out_of_range"),
        ({"since": "2026-06-10", "until": "2026-06-09"}, "until", "before_since"),
    ],
)
def test_bad_date_range_is_a_400_naming_the_parameter(
    world: Any, params: dict[str, str], field: str, code: str
) -> None:
    response = _client(world.therapist.user).get(_url(world.patient, **params))

    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]


def test_another_clinics_patient_and_any_patient_get_a_404(world: Any, history: Any) -> None:
    url = _url(world.patient)
    assert _client(world.outsider.user).get(url).status_code == 404
    assert _client(world.outsider.user).get(_url(world.patient, since="bad")).status_code == 404
    assert _client(world.patient.user).get(url).status_code == 404  # out of scope looks like missing
    assert APIClient().get(url).status_code == 401
    assert _client(world.colleague.user).get(url).status_code == 200


def test_export_is_recorded_in_the_audit_of_reads(world: Any, history: Any) -> None:
    from auditlog.models import LogEntry

    before = LogEntry.objects.count()
    _client(world.colleague.user).get(_url(world.patient))

    read = LogEntry.objects.order_by("-id").first()
    assert LogEntry.objects.count() == before + 1
    assert read is not None
    assert read.additional_data["read"] == "FHIR export"
    assert read.actor == world.colleague.user


@pytest.mark.parametrize("weeks", [1, 4])
def test_bundle_uses_a_fixed_number_of_queries(
    world: Any, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any, weeks: int
) -> None:
    for week in range(weeks):
        submit_session(world.patient, days_ago=7 * week + 1, **RED_FLAG_SESSION)
        submit_weekly(world.patient, days_ago=7 * week + 2)
        AlertFactory(patient=world.patient, rule_id="R-03", status=Alert.Status.CLEARED, cleared_at=NOW)
    scan_patients([world.patient.pk])
    client = _client(world.therapist.user)
    # patient with its clinic (scoped), entries, outcome scores, alerts, the audit of the read
    with django_assert_num_queries(5):
        response = client.get(_url(world.patient))
    assert len(by_type(valid_bundle(response))["QuestionnaireResponse"]) == 2 * weeks


@pytest.mark.parametrize("kind", ["post_workout", "weekly"])
@pytest.mark.parametrize("version", [1, 2])
def test_questionnaires_are_served_to_anyone_as_valid_fhir(db: None, kind: str, version: int) -> None:
    response = APIClient().get(f"/api/v1/fhir/Questionnaire/{kind}-v{version}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    questionnaire = response.json()
    Questionnaire.model_validate(questionnaire)
    assert questionnaire["version"] == str(version)
    items = {item["linkId"]: item for item in questionnaire["item"]}
    assert ("safety_screen" in items) == (kind == "post_workout" or version == 2)
    if kind == "post_workout":
        neck = items["neck_level"]
        assert neck["type"] == "integer"
        assert neck["required"] is True
        assert {c["answerCoding"]["code"] for c in neck["enableWhen"]} == {"tension", "pain", "pain_into_arm"}
        assert neck["enableBehavior"] == "any"
        codes = [o["valueCoding"]["code"] for o in items["safety_screen"]["answerOption"]]
        assert codes[-1] == "none"
        assert "bladder_change" in codes
        assert items["note"]["required"] is False


@pytest.mark.parametrize("name", ["post_workout-v3", "post_workout-v0", "intake-v1", "post_workout", "weekly-v02"])
def test_unknown_questionnaire_or_version_is_a_404_in_the_error_shape(db: None, name: str) -> None:
    response = APIClient().get(f"/api/v1/fhir/Questionnaire/{name}")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_schema_documents_fhir_json_and_the_date_range(db: None) -> None:
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    export = schema["paths"]["/api/v1/patients/{id}/fhir/"]["get"]
    questionnaire = schema["paths"]["/api/v1/fhir/Questionnaire/{name}"]["get"]

    assert FHIR_JSON in export["responses"]["200"]["content"]
    assert FHIR_JSON in questionnaire["responses"]["200"]["content"]
    assert {p["name"] for p in export["parameters"] if p["in"] == "query"} == {"since", "until"}
    assert "400" in export["responses"]


def test_demo_clinic_bundles_are_valid_fhir(db: None, superuser: Any, clock: Any) -> None:
    clock.move_to(dt.datetime(2026, 6, 17, 16, 30, tzinfo=dt.UTC), tick=False)
    call_command("seed_demo", "--quiet-logins", stdout=StringIO())
    patients = list(Patient.objects.order_by("pk"))
    scan_patients([p.pk for p in patients])
    client = _client(superuser)

    flags = 0
    for patient in patients:
        bundle = valid_bundle(client.get(_url(patient)))
        flags += len(by_type(bundle).get("Flag", []))
    assert flags == Alert.objects.count() > 0
