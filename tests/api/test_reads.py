"""The patient's reads: me, program, history (pagination, filters), what is due, trends; their query counts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.core.serializers.json import DjangoJSONEncoder
from rest_framework.serializers import ModelSerializer, Serializer
from rest_framework.test import APIClient

from assessments.models import Entry
from assessments.serializers import ENTRY_OUTPUT_SERIALIZERS
from patients.models import Patient
from programs.services import prescription_reset
from tests.api.factories import build_entry, make_entry
from tests.api.helpers import ASSESSMENTS, client_for, errors
from tests.factories import EnrollmentFactory, ExerciseFactory, ProgramFactory

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """An aware UTC time from ``2026-05-06 10:00``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


# /me/ and /me/program/ ---------------------------------------------------------------------------------------


def test_me_describes_the_patient_clinic_therapist_and_enrollment(world: Any, patient_api: APIClient) -> None:
    enrollment = world.patient.enrollments.get(active=True)
    response = patient_api.get("/api/v1/me/")

    assert response.status_code == 200
    body = response.json()
    adherence = body.pop("adherence")  # checked in tests/assessments/test_adherence.py
    assert len(adherence) == 4
    assert adherence[-1]["in_progress"] is True
    assert body == {
        "id": world.patient.pk,
        "first_name": "Maria",
        "email": world.patient.email,
        "clinic": {"name": "Riverside", "timezone": "Europe/London"},
        "therapist": {"display_name": "Jane Roe, PT, DPT"},
        "enrollment": {
            "id": enrollment.pk,
            "program": {"name": enrollment.program.name, "kind": "stabilization"},
            "phase": "stabilization",
            "phase_since": enrollment.phase_since.isoformat(),
        },
    }
    # Nothing a patient should not see about themselves or the clinic (caseload reference, last name, notes).
    assert "last_name" not in response.json()
    assert "caseload_ref" not in response.json()


def test_me_without_an_active_enrollment_has_a_null_enrollment(world: Any, patient_api: APIClient) -> None:
    world.patient.enrollments.update(active=False)
    response = patient_api.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["enrollment"] is None
    assert response.json()["adherence"] == []


def test_program_lists_the_exercises_in_order(world: Any, patient_api: APIClient) -> None:
    program = world.patient.enrollments.get(active=True).program
    ExerciseFactory(program=program, name="Bird dog", position=2, sets=2, reps=10, hold_seconds=3, region="core")
    ExerciseFactory(program=program, name="Chin tuck", position=1, sets=3, reps=8, hold_seconds=10, region="neck")
    ExerciseFactory(name="Someone else's program")
    prescription_reset(world.patient.enrollments.get(active=True))  # as when the patient was enrolled

    response = patient_api.get("/api/v1/me/program/")

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["kind"], body["phase"]) == (program.name, "stabilization", "stabilization")
    assert body["exercises"] == [
        {
            "name": "Chin tuck",
            "instructions": "Slowly, without holding your breath.",
            "region": "neck",
            "sets": 3,
            "reps": 8,
            "hold_seconds": 10,
        },
        {
            "name": "Bird dog",
            "instructions": "Slowly, without holding your breath.",
            "region": "core",
            "sets": 2,
            "reps": 10,
            "hold_seconds": 3,
        },
    ]


def test_program_is_404_when_not_enrolled(world: Any, patient_api: APIClient) -> None:
    world.patient.enrollments.update(active=False)
    response = patient_api.get("/api/v1/me/program/")
    assert response.status_code == 404
    assert errors(response) == [(None, "not_found")]
    assert "not enrolled" in response.json()["errors"][0]["message"]


def test_program_follows_the_active_enrollment(world: Any, patient_api: APIClient) -> None:
    world.patient.enrollments.update(active=False)
    EnrollmentFactory(patient=world.patient, program=ProgramFactory(name="Back to running"), phase="maintenance")
    body = patient_api.get("/api/v1/me/program/").json()
    assert (body["name"], body["phase"]) == ("Back to running", "maintenance")


# /assessments/ -----------------------------------------------------------------------------------------------


def test_history_is_newest_first_by_occurred_at(world: Any, patient_api: APIClient) -> None:
    # Submitted in another order than they occurred (a late entry from a paper diary).
    middle = make_entry(patient=world.patient, occurred_at=at("2026-05-03 09:00"))
    newest = make_entry(patient=world.patient, occurred_at=at("2026-05-05 18:00"), weekly=True)
    oldest = make_entry(patient=world.patient, occurred_at=at("2026-04-20 07:00"))
    make_entry(patient=world.other_patient, occurred_at=at("2026-05-04 09:00"))

    response = patient_api.get(ASSESSMENTS)

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert [row["id"] for row in body["results"]] == [newest.pk, middle.pk, oldest.pk]
    assert body["results"][0]["kind"] == "weekly"
    assert body["results"][0]["answers"] == newest.answers()
    assert body["results"][0]["occurred_at"] == "2026-05-05T18:00:00Z"


def test_history_pages(world: Any, patient_api: APIClient) -> None:
    start = at("2026-05-01 08:00")
    entries = [make_entry(patient=world.patient, occurred_at=start + dt.timedelta(hours=n)) for n in range(25)]
    newest_first = [entry.pk for entry in reversed(entries)]

    first = patient_api.get(ASSESSMENTS).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (25, 20, None)
    assert first["next"].endswith("/api/v1/assessments/?page=2")
    second = patient_api.get(ASSESSMENTS, {"page": 2}).json()
    assert [row["id"] for row in first["results"] + second["results"]] == newest_first
    assert second["next"] is None

    small = patient_api.get(ASSESSMENTS, {"page_size": 10, "page": 3}).json()
    assert [row["id"] for row in small["results"]] == newest_first[20:]


def test_page_size_is_capped_at_100(world: Any, patient_api: APIClient) -> None:
    start = at("2026-05-01 08:00")
    Entry.objects.bulk_create(
        [build_entry(patient=world.patient, occurred_at=start - dt.timedelta(hours=n)) for n in range(105)]
    )
    for size in (100, 1000):
        body = patient_api.get(ASSESSMENTS, {"page_size": size}).json()
        assert (body["count"], len(body["results"])) == (105, 100)
        assert body["next"] is not None


@pytest.mark.parametrize(("page", "code"), [("9", "not_found"), ("0", "not_found"), ("abc", "not_found")])
def test_page_outside_the_history_is_404(patient_api: APIClient, page: str, code: str) -> None:
    response = patient_api.get(ASSESSMENTS, {"page": page})
    assert response.status_code == 404
    assert errors(response) == [(None, code)]


def test_filters_kind_since_until(world: Any, patient_api: APIClient) -> None:
    april = make_entry(patient=world.patient, occurred_at=at("2026-04-28 10:00"))
    weekly = make_entry(patient=world.patient, occurred_at=at("2026-05-02 10:00"), weekly=True)
    may = make_entry(patient=world.patient, occurred_at=at("2026-05-04 10:00"))

    def ids(**query: str) -> list[int]:
        response = patient_api.get(f"{ASSESSMENTS}?{urlencode(query)}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(kind="post_workout") == [may.pk, april.pk]
    assert ids(kind="weekly") == [weekly.pk]
    # Both bounds are inclusive, and an offset is honoured.
    assert ids(since="2026-05-02T10:00:00Z") == [may.pk, weekly.pk]
    assert ids(until="2026-05-02T12:00:00+02:00") == [weekly.pk, april.pk]
    assert ids(since="2026-05-01T00:00:00Z", until="2026-05-03T00:00:00Z") == [weekly.pk]
    assert ids(kind="post_workout", since="2026-05-01T00:00:00Z") == [may.pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "daily"}, [("kind", "invalid_choice")]),
        ({"since": "yesterday"}, [("since", "invalid")]),
        ({"until": "2026-13-01T00:00:00Z"}, [("until", "invalid")]),
        ({"since": "0001-01-01T00:00:00+14:00"}, [("since", "invalid")]),
        ({"until": "9999-12-31T23:59:59-14:00"}, [("until", "invalid")]),
        ({"kind": "x", "since": "y"}, [("kind", "invalid_choice"), ("since", "invalid")]),
    ],
)
def test_bad_filter_values_are_400(patient_api: APIClient, query: dict[str, str], expected: list[Any]) -> None:
    response = patient_api.get(f"{ASSESSMENTS}?{urlencode(query)}")
    assert response.status_code == 400
    assert errors(response) == expected


def test_one_entry_by_id(world: Any, patient_api: APIClient) -> None:
    entry = make_entry(patient=world.patient, weekly=True, occurred_at=at("2026-05-02 10:00"))
    response = patient_api.get(f"{ASSESSMENTS}{entry.pk}/")
    assert response.status_code == 200
    assert response.json() == {
        "id": entry.pk,
        "kind": "weekly",
        "occurred_at": "2026-05-02T10:00:00Z",
        "submitted_at": entry.submitted_at.isoformat().replace("+00:00", "Z"),
        "phase": "stabilization",
        "questionnaire_version": 2,
        "answers": entry.answers(),
        # v2: the PEG and PSFS means of the quiet weekly answers (3, 2, 2 and 6, 7, 5), one decimal.
        "scores": {"peg": 2.3, "psfs": 6.0},
    }


@pytest.mark.parametrize("pk", ["999999", "abc", "-1", "1e3"])
def test_entry_that_does_not_exist_is_404(world: Any, patient_api: APIClient, pk: str) -> None:
    response = patient_api.get(f"{ASSESSMENTS}{pk}/")
    assert response.status_code == 404
    assert errors(response) == [(None, "not_found")]


def test_history_query_count_does_not_grow_with_the_page(
    world: Any, patient_api: APIClient, django_assert_num_queries: Any
) -> None:
    start = at("2026-05-01 08:00")
    rows = [
        build_entry(patient=world.patient, occurred_at=start - dt.timedelta(hours=n), weekly=n % 3 == 0)
        for n in range(110)
    ]
    Entry.objects.bulk_create(rows)
    patient_api.get(ASSESSMENTS)  # warm: the audit's content type is cached once per process
    # 1. the token with its user, the user's patient and staff profile (patients/tokens.py)
    # 2. COUNT of the patient's entries (pagination)
    # 3. the page of entries (no further query per row)
    # 4. the audit of the read (one insert, committed on its own in production)
    for size in (10, 100):
        with django_assert_num_queries(4) as queries:
            response = patient_api.get(ASSESSMENTS, {"page_size": size})
        assert len(response.json()["results"]) == size
        # The count and the page find the patient's entries by its id (entry_patient_occurred_idx), with no join to
        # the patients: the token query has read who the patient is.
        count, page = (q["sql"] for q in queries.captured_queries[1:3])
        for sql in (count, page):
            assert f'"assessments_entry"."patient_id" = {world.patient.pk}' in sql
            assert "JOIN" not in sql


# /assessments/due/ -------------------------------------------------------------------------------------------


def due(client: APIClient) -> list[dict[str, Any]]:
    response = client.get("/api/v1/assessments/due/")
    assert response.status_code == 200, response.content
    return list(response.json())


@pytest.fixture
def wednesday_checkin(world: Any) -> Any:
    """The patient's weekly check-in is on Wednesdays; three post-workout entries a week."""
    enrollment = world.patient.enrollments.get(active=True)
    enrollment.weekly_checkin_weekday = 2
    enrollment.post_workouts_per_week = 3
    enrollment.save()
    return enrollment


def test_weekly_is_due_on_its_weekday_in_the_clinic_time_zone(world: Any, wednesday_checkin: Any) -> None:
    # Wednesday 2026-05-06, 11:00 in London (BST, UTC+1).
    with time_machine.travel(at("2026-05-06 10:00"), tick=False):
        items = due(client_for(world.patient.user))
    assert items == [
        {"kind": "weekly", "due_at": "2026-05-05T23:00:00Z", "overdue": False, "remaining": 1},
        {"kind": "post_workout", "due_at": "2026-05-10T23:00:00Z", "overdue": False, "remaining": 3},
    ]


def test_weekly_is_overdue_from_the_next_local_day(world: Any, wednesday_checkin: Any) -> None:
    client = client_for(world.patient.user)
    # 23:59 on Wednesday in London: still due today.
    with time_machine.travel(at("2026-05-06 22:59"), tick=False):
        assert due(client)[0] == {"kind": "weekly", "due_at": "2026-05-05T23:00:00Z", "overdue": False, "remaining": 1}
    # 00:30 on Thursday in London, while it is still Wednesday in UTC: overdue.
    with time_machine.travel(at("2026-05-06 23:30"), tick=False):
        assert due(client)[0] == {"kind": "weekly", "due_at": "2026-05-05T23:00:00Z", "overdue": True, "remaining": 1}


def test_submitted_weekly_lists_the_next_one(world: Any, wednesday_checkin: Any) -> None:
    # Up to two days early counts for this week's check-in (Monday for a Wednesday check-in).
    make_entry(patient=world.patient, weekly=True, occurred_at=at("2026-05-04 08:00"))
    with time_machine.travel(at("2026-05-07 10:00"), tick=False):
        items = due(client_for(world.patient.user))
    weekly = next(item for item in items if item["kind"] == "weekly")
    assert weekly == {"kind": "weekly", "due_at": "2026-05-12T23:00:00Z", "overdue": False, "remaining": 1}


def test_post_workout_remaining_counts_this_local_week(world: Any, wednesday_checkin: Any) -> None:
    # Sunday 23:30 in London belongs to last week; Monday 00:30 in London (Sunday in UTC) to this one.
    make_entry(patient=world.patient, occurred_at=at("2026-05-03 22:30"))
    make_entry(patient=world.patient, occurred_at=at("2026-05-03 23:30"))
    make_entry(patient=world.other_patient, occurred_at=at("2026-05-05 10:00"))
    client = client_for(world.patient.user)
    with time_machine.travel(at("2026-05-06 10:00"), tick=False):
        assert {i["kind"]: i["remaining"] for i in due(client)}["post_workout"] == 2
        make_entry(patient=world.patient, occurred_at=at("2026-05-05 18:00"))
        assert {i["kind"]: i["remaining"] for i in due(client)}["post_workout"] == 1
        make_entry(patient=world.patient, occurred_at=at("2026-05-06 07:00"))
        # The week's three are in: only the weekly remains.
        assert [item["kind"] for item in due(client)] == ["weekly"]


def test_due_uses_each_clinic_time_zone(world: Any) -> None:
    # Monday 2026-05-04 03:00 UTC: Monday 04:00 in London, still Sunday 23:00 in New York.
    with time_machine.travel(at("2026-05-04 03:00"), tick=False):
        london = due(client_for(world.patient.user))
        new_york = due(client_for(world.foreign_patient.user))
    # Check-in on Mondays (the default): due today in London; last Monday's is overdue in New York.
    assert london[0] == {"kind": "weekly", "due_at": "2026-05-03T23:00:00Z", "overdue": False, "remaining": 1}
    assert new_york[0] == {"kind": "weekly", "due_at": "2026-04-27T04:00:00Z", "overdue": True, "remaining": 1}
    assert new_york[1] == {"kind": "post_workout", "due_at": "2026-05-04T04:00:00Z", "overdue": False, "remaining": 3}


def test_nothing_is_due_without_an_enrollment_or_after_discharge(world: Any, patient_api: APIClient) -> None:
    world.patient.enrollments.update(active=False)
    assert due(patient_api) == []
    Patient.objects.filter(pk=world.other_patient.pk).update(status=Patient.Status.DISCHARGED)
    assert due(client_for(world.other_patient.user)) == []


# /me/trends/ -------------------------------------------------------------------------------------------------


def trends(client: APIClient, **query: Any) -> dict[str, Any]:
    response = client.get("/api/v1/me/trends/", query)
    assert response.status_code == 200, response.content
    return dict(response.json())


def point(date: str, **values: Any) -> dict[str, Any]:
    empty = dict.fromkeys(
        (
            "back_pain_now",
            "back_stiffness_now",
            "back_pain_during_max",
            "neck_level",
            "thigh_level",
            "back_pain_avg_7d",
            "morning_stiffness_level",
            "psfs_mean",
        )
    )
    return {"date": date, **empty, "sessions": 0, **values}


def test_trends_are_daily_means(world: Any) -> None:
    patient = world.patient
    make_entry(patient=patient, occurred_at=at("2026-05-05 08:00"), back_pain_now=2, back_stiffness_now=1)
    make_entry(
        patient=patient,
        occurred_at=at("2026-05-05 19:00"),
        back_pain_now=5,
        back_stiffness_now=4,
        back_pain_during_max=7,
        neck_symptoms="pain",
        neck_level=6,
    )
    make_entry(
        patient=patient, occurred_at=at("2026-05-06 09:00"), weekly=True, psfs_1=6, psfs_2=7, psfs_3=5,
    )  # fmt: skip
    make_entry(patient=world.other_patient, occurred_at=at("2026-05-05 08:00"), back_pain_now=10)

    with time_machine.travel(at("2026-05-06 12:00"), tick=False):
        body = trends(client_for(patient.user))

    assert (body["days"], body["timezone"]) == (90, "Europe/London")
    assert body["series"] == [
        point(
            "2026-05-05",
            back_pain_now=3.5,
            back_stiffness_now=2.5,
            back_pain_during_max=5.0,
            neck_level=6.0,
            sessions=2,
        ),
        point("2026-05-06", back_pain_avg_7d=3.0, morning_stiffness_level=3.0, psfs_mean=6.0),
    ]


def test_trends_bucket_by_local_day_of_the_clinic(world: Any) -> None:
    # Hilltop is in New York (EDT, UTC-4): 03:30 UTC on 5 May is 23:30 on 4 May there, 04:30 UTC is 00:30 on 5 May.
    patient = world.foreign_patient
    make_entry(patient=patient, occurred_at=at("2026-05-05 03:30"), back_pain_now=8)
    make_entry(patient=patient, occurred_at=at("2026-05-05 04:30"), back_pain_now=2)
    # London (BST, UTC+1): 23:30 UTC on 5 May is already 6 May.
    make_entry(patient=world.patient, occurred_at=at("2026-05-05 23:30"), back_pain_now=4)

    with time_machine.travel(at("2026-05-06 12:00"), tick=False):
        new_york = trends(client_for(patient.user))
        london = trends(client_for(world.patient.user))

    assert new_york["timezone"] == "America/New_York"
    assert [(p["date"], p["back_pain_now"]) for p in new_york["series"]] == [("2026-05-04", 8.0), ("2026-05-05", 2.0)]
    assert [(p["date"], p["back_pain_now"]) for p in london["series"]] == [("2026-05-06", 4.0)]


def test_trends_window_is_local_days(world: Any) -> None:
    patient = world.patient
    for day, pain in (("2026-02-05", 9), ("2026-02-06", 8), ("2026-05-05", 3), ("2026-05-06", 2)):
        make_entry(patient=patient, occurred_at=at(f"{day} 10:00"), back_pain_now=pain)
    client = client_for(patient.user)
    with time_machine.travel(at("2026-05-06 12:00"), tick=False):
        # 90 days back from 6 May, today included, starts on 6 February.
        assert [p["date"] for p in trends(client)["series"]] == ["2026-02-06", "2026-05-05", "2026-05-06"]
        assert [p["date"] for p in trends(client, days=1)["series"]] == ["2026-05-06"]
        assert [p["date"] for p in trends(client, days=2)["series"]] == ["2026-05-05", "2026-05-06"]
        assert len(trends(client, days=365)["series"]) == 4


@pytest.mark.parametrize(
    ("days", "code"),
    [("0", "min_value"), ("366", "max_value"), ("-1", "min_value"), ("abc", "invalid"), ("1.5", "invalid")],
)
def test_trends_days_out_of_range_is_400(patient_api: APIClient, days: str, code: str) -> None:
    response = patient_api.get("/api/v1/me/trends/", {"days": days})
    assert response.status_code == 400
    assert errors(response) == [("days", code)]


def test_trends_use_a_fixed_small_number_of_queries(
    world: Any, patient_api: APIClient, django_assert_num_queries: Any
) -> None:
    start = at("2026-05-01 08:00")
    Entry.objects.bulk_create(
        [build_entry(patient=world.patient, occurred_at=start - dt.timedelta(hours=7 * n)) for n in range(60)]
    )
    # 1. the token with its user, the user's patient and its clinic (the time zone) (patients/tokens.py)
    # 2. the daily aggregate over the window (one GROUP BY query)
    with time_machine.travel(at("2026-05-06 12:00"), tick=False):
        for days in (7, 90):
            with django_assert_num_queries(2):
                body = trends(patient_api, days=days)
            assert body["series"]


def test_entries_are_written_out_exactly_as_drf_would(world: Any, patient_api: APIClient) -> None:
    """The entry output reads fields by attribute (``ReadByAttribute``); DRF's own generic path is the reference."""
    entries = [
        make_entry(patient=world.patient, occurred_at=at("2026-05-01 10:00")),
        make_entry(
            patient=world.patient,
            occurred_at=at("2026-05-02 10:00"),
            neck_symptoms="pain",
            neck_level=6,
            thigh_symptoms="left",
            thigh_level=4,
            thigh_stretch_response="worse",
            thigh_below_knee=True,
            thigh_nerve_qualities=["pins_needles", "numbness"],
            safety_screen=["saddle_numbness"],
            safety_screen_unchanged=["saddle_numbness"],
            note="Felt it on the stairs.",
        ),
        make_entry(patient=world.patient, weekly=True, occurred_at=at("2026-05-03 10:00")),
        make_entry(
            patient=world.patient,
            weekly=True,
            occurred_at=at("2026-05-04 10:00"),
            morning_stiffness_duration="60_120",
            stiffness_eases_with_movement=True,
            systemic_flags=["fall_or_injury"],
            peg_score=None,  # an older row without its stored score: computed from the items
        ),
    ]
    listed = {item["id"]: item for item in patient_api.get(ASSESSMENTS, {"page_size": 10}).json()["results"]}
    for entry in entries:
        writer = ENTRY_OUTPUT_SERIALIZERS[entry.kind]()
        reference = dict(ModelSerializer.to_representation(writer, entry))
        answers = writer.fields["answers"]
        reference["answers"] = dict(Serializer.to_representation(answers, entry))
        if "scores" in writer.fields:
            reference["scores"] = dict(Serializer.to_representation(writer.fields["scores"], entry))
        assert listed[entry.pk] == json.loads(json.dumps(reference, cls=DjangoJSONEncoder))
        assert patient_api.get(f"{ASSESSMENTS}{entry.pk}/").json() == listed[entry.pk]
