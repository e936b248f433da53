"""Submitting a self-assessment: what is stored, the safety advice, the scan on commit, the query count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from assessments.models import Entry
from clinic.celery import app as celery_app
from patients.models import Patient
from programs.models import Phase
from tests.api.factories import post_workout_answers, weekly_answers
from tests.api.helpers import ASSESSMENTS, errors

NOW = dt.datetime(2026, 5, 6, 18, 30, tzinfo=dt.UTC)

POST_WORKOUT_FIELDS = [
    "session_completed",
    "back_pain_now",
    "back_pain_during_max",
    "back_stiffness_now",
    "stiffness_change",
    "spine_check",
    "neck_symptoms",
    "neck_level",
    "thigh_symptoms",
    "thigh_level",
    "thigh_stretch_response",
    "thigh_below_knee",
    "thigh_nerve_qualities",
    "safety_screen",
    "safety_screen_unchanged",
    "note",
]
WEEKLY_FIELDS = [
    "back_pain_avg_7d",
    "leg_pain_avg_7d",
    "peg_pain",
    "peg_enjoyment",
    "peg_activity",
    "morning_stiffness_level",
    "morning_stiffness_duration",
    "stiffness_eases_with_movement",
    "global_change",
    "flare_7d",
    "exercise_days_7d",
    "psfs_1",
    "psfs_2",
    "psfs_3",
    "systemic_flags",
    "safety_screen",
    "safety_screen_unchanged",
]


def post(client: APIClient, kind: str, answers: dict[str, Any], **top: Any) -> Any:
    return client.post(ASSESSMENTS, {"kind": kind, "answers": answers, **top}, format="json")


def urgent(body: dict[str, Any]) -> dict[str, str]:
    """The one urgent advice of a response (an informative one may accompany it)."""
    (advice,) = [a for a in body["advice"] if a["level"] == "urgent"]
    return dict(advice)


def test_post_workout_entry_is_stored_and_returned(world: Any, patient_api: APIClient) -> None:
    answers = post_workout_answers(
        neck_symptoms="tension",
        neck_level=3,
        thigh_symptoms="left",
        thigh_level=4,
        thigh_stretch_response="no_change",
        thigh_below_knee=False,
        thigh_nerve_qualities=["pins_needles"],
        safety_screen=[],
        safety_screen_unchanged=[],
        note="Felt it on the stairs.",
    )
    with time_machine.travel(NOW, tick=False):
        response = post(patient_api, "post_workout", answers)

    assert response.status_code == 201, response.content
    body = response.json()
    entry = Entry.objects.get(pk=body["id"])
    assert body == {
        "id": entry.pk,
        "kind": "post_workout",
        "occurred_at": "2026-05-06T18:30:00Z",
        "submitted_at": "2026-05-06T18:30:00Z",
        "phase": "stabilization",
        "questionnaire_version": 2,
        "answers": answers,
        "advice": [],
    }
    assert list(body["answers"]) == POST_WORKOUT_FIELDS
    assert (entry.patient, entry.kind, entry.back_pain_now, entry.thigh_nerve_qualities) == (
        world.patient,
        "post_workout",
        2,
        ["pins_needles"],
    )
    assert entry.scanned_at is None
    # The stored entry reads back the same through the API.
    detail = patient_api.get(f"{ASSESSMENTS}{entry.pk}/").json()
    assert detail == {key: value for key, value in body.items() if key != "advice"}


def test_conditional_answers_that_do_not_apply_are_stored_as_null(patient_api: APIClient) -> None:
    response = post(patient_api, "post_workout", post_workout_answers())
    assert response.status_code == 201, response.content
    answers = response.json()["answers"]
    assert {name: answers[name] for name in ("neck_level", "thigh_level", "thigh_below_knee")} == dict.fromkeys(
        ("neck_level", "thigh_level", "thigh_below_knee")
    )
    entry = Entry.objects.get(pk=response.json()["id"])
    assert (entry.neck_level, entry.thigh_stretch_response, entry.thigh_nerve_qualities, entry.note) == (
        None,
        None,
        None,
        "",
    )
    # The questions of the other questionnaire are not asked: null, not a default.
    assert (entry.back_pain_avg_7d, entry.systemic_flags, entry.peg_score) == (None, None, None)


def test_optional_answers_left_out_are_stored_at_their_default(patient_api: APIClient) -> None:
    answers = post_workout_answers()
    del answers["safety_screen_unchanged"], answers["note"]
    response = post(patient_api, "post_workout", answers)
    assert response.status_code == 201, response.content
    assert (response.json()["answers"]["safety_screen_unchanged"], response.json()["answers"]["note"]) == ([], "")
    entry = Entry.objects.get(pk=response.json()["id"])
    assert (entry.safety_screen_unchanged, entry.note) == ([], "")


def test_weekly_entry_is_stored_and_returned(world: Any, patient_api: APIClient) -> None:
    answers = weekly_answers(morning_stiffness_duration="60_120", stiffness_eases_with_movement=True, global_change=-2)
    response = post(patient_api, "weekly", answers)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["advice"], body["phase"]) == ("weekly", [], "stabilization")
    assert body["answers"] == answers
    assert list(body["answers"]) == WEEKLY_FIELDS
    assert body["questionnaire_version"] == 2
    entry = Entry.objects.get(pk=body["id"])
    assert (entry.kind, entry.global_change, entry.stiffness_eases_with_movement, entry.back_pain_now) == (
        "weekly",
        -2,
        True,
        None,
    )
    assert (entry.safety_screen, entry.safety_screen_unchanged) == ([], [])


def test_weekly_entry_returns_its_peg_and_psfs_scores(patient_api: APIClient) -> None:
    # v2: each score is the mean of its three items, one decimal, rounded half up; stored with the entry.
    answers = weekly_answers(peg_pain=7, peg_enjoyment=6, peg_activity=6, psfs_1=4, psfs_2=5, psfs_3=5)
    response = post(patient_api, "weekly", answers)

    assert response.status_code == 201, response.content
    assert response.json()["scores"] == {"peg": 6.3, "psfs": 4.7}
    entry = Entry.objects.get(pk=response.json()["id"])
    assert (entry.peg_score, entry.psfs_score) == (Decimal("6.3"), Decimal("4.7"))
    assert patient_api.get(f"{ASSESSMENTS}{entry.pk}/").json()["scores"] == {"peg": 6.3, "psfs": 4.7}


def test_post_workout_entry_has_no_scores(patient_api: APIClient) -> None:
    response = post(patient_api, "post_workout", post_workout_answers())
    assert response.status_code == 201, response.content
    assert "scores" not in response.json()


@pytest.mark.parametrize(
    "flags", [["saddle_numbness"], ["bladder_change", "bowel_change"], ["foot_drop_or_leg_weakness"]]
)
def test_safety_screen_answer_returns_urgent_emergency_advice(patient_api: APIClient, flags: list[str]) -> None:
    response = post(patient_api, "post_workout", post_workout_answers(safety_screen=flags))

    assert response.status_code == 201, response.content
    advice = urgent(response.json())
    assert "Stop exercising" in advice["message"]
    assert "emergency" in advice["message"]
    assert Entry.objects.get(pk=response.json()["id"]).safety_screen == flags


@pytest.mark.parametrize("flag", ["fever_or_unwell", "night_pain_unrelenting", "new_cancer_diagnosis"])
def test_systemic_flag_returns_urgent_advice_to_contact_the_doctor(patient_api: APIClient, flag: str) -> None:
    response = post(patient_api, "weekly", weekly_answers(systemic_flags=[flag]))

    assert response.status_code == 201, response.content
    assert "contact your doctor today" in urgent(response.json())["message"]


def test_no_advice_without_red_flags(patient_api: APIClient) -> None:
    # Alarming but not red-flag answers: high pain, stopped for symptoms, a flare.
    response = post(
        patient_api, "post_workout", post_workout_answers(back_pain_now=9, session_completed="stopped_symptoms")
    )
    assert response.status_code == 201
    assert response.json()["advice"] == []
    response = post(patient_api, "weekly", weekly_answers(flare_7d=True, back_pain_avg_7d=8))
    assert response.status_code == 201
    assert response.json()["advice"] == []


def test_entry_records_the_enrollment_and_phase_of_the_moment(world: Any, patient_api: APIClient) -> None:
    enrollment = world.patient.enrollments.get(active=True)
    first = post(patient_api, "post_workout", post_workout_answers()).json()
    enrollment.phase = Phase.TREATMENT
    enrollment.save()
    second = post(patient_api, "post_workout", post_workout_answers()).json()

    assert (first["phase"], second["phase"]) == ("stabilization", "treatment")
    stored = Entry.objects.filter(pk__in=[first["id"], second["id"]]).order_by("pk")
    assert [(e.enrollment_id, e.phase) for e in stored] == [
        (enrollment.pk, "stabilization"),
        (enrollment.pk, "treatment"),
    ]


def test_occurred_at_defaults_to_now(patient_api: APIClient) -> None:
    with time_machine.travel(NOW, tick=False):
        response = post(patient_api, "post_workout", post_workout_answers())
    assert response.status_code == 201
    assert parse_datetime(response.json()["occurred_at"]) == NOW
    assert Entry.objects.get(pk=response.json()["id"]).occurred_at == NOW


def test_back_dated_entry_keeps_its_time(patient_api: APIClient) -> None:
    with time_machine.travel(NOW, tick=False):
        response = post(patient_api, "weekly", weekly_answers(), occurred_at="2026-04-12T09:00:00+02:00")
    assert response.status_code == 201
    entry = Entry.objects.get(pk=response.json()["id"])
    assert entry.occurred_at == dt.datetime(2026, 4, 12, 7, 0, tzinfo=dt.UTC)
    assert entry.submitted_at == NOW
    assert response.json()["occurred_at"] == "2026-04-12T07:00:00Z"


def test_scan_is_scheduled_once_on_commit(
    world: Any, patient_api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(patient_api, "post_workout", post_workout_answers())
    assert response.status_code == 201
    assert len(callbacks) == 1
    # Only the broker is replaced: the callback must hand the patient's id (not an instance) to the scan task.
    with mock.patch.object(celery_app, "send_task") as send_task:
        callbacks[0]()
    # "submitted": a burst of submissions is scanned in batches (assessments.burst).
    send_task.assert_called_once_with("assessments.scan_patient", args=(world.patient.pk, True), countdown=None)


def test_rejected_entry_schedules_nothing(patient_api: APIClient, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(patient_api, "post_workout", post_workout_answers(back_pain_now=11))
    assert response.status_code == 400
    assert callbacks == []


def test_submit_uses_a_fixed_number_of_queries(patient_api: APIClient, django_assert_num_queries: Any) -> None:
    # 1. the token by its key, with its user, the user's patient, clinic and active enrollment, and staff profile
    #    (patients/tokens.py)
    # 2. INSERT the entry (committed on its own in production: no BEGIN, no COMMIT)
    with django_assert_num_queries(2):
        response = post(patient_api, "post_workout", post_workout_answers(safety_screen=["bladder_change"]))
    assert response.status_code == 201
    with django_assert_num_queries(2):
        response = post(patient_api, "weekly", weekly_answers())
    assert response.status_code == 201


def test_discharged_patient_cannot_submit(world: Any, patient_api: APIClient) -> None:
    Patient.objects.filter(pk=world.patient.pk).update(status=Patient.Status.DISCHARGED)
    response = post(patient_api, "post_workout", post_workout_answers())

    assert response.status_code == 400
    assert errors(response) == [(None, "discharged")]
    assert "discharged" in response.json()["errors"][0]["message"]
    assert not Entry.objects.exists()


def test_patient_without_an_active_enrollment_cannot_submit(world: Any, patient_api: APIClient) -> None:
    world.patient.enrollments.update(active=False)
    response = post(patient_api, "weekly", weekly_answers())

    assert response.status_code == 400
    assert errors(response) == [(None, "not_enrolled")]
    assert "not enrolled" in response.json()["errors"][0]["message"]
    assert not Entry.objects.exists()


def test_a_red_flag_report_that_cannot_be_stored_still_gets_the_urgent_advice(world: Any) -> None:
    client = APIClient()
    client.force_authenticate(world.patient.user)
    answers = {**post_workout_answers(safety_screen=["saddle_numbness"]), "back_pain_now": 11}

    response = client.post("/api/v1/assessments/", {"kind": "post_workout", "answers": answers}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["answers.back_pain_now"]
    assert "emergency" in urgent(body)["message"]


def test_a_discharged_patient_reporting_a_red_flag_is_told_to_seek_care(world: Any) -> None:
    world.patient.status = "discharged"
    world.patient.save()
    client = APIClient()
    client.force_authenticate(world.patient.user)
    answers = weekly_answers(systemic_flags=["fever_or_unwell"])

    response = client.post("/api/v1/assessments/", {"kind": "weekly", "answers": answers}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "discharged"
    assert urgent(response.json())["level"] == "urgent"
