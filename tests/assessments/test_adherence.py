"""Adherence per week (issue 9, item 3), on a hand-checked history with a gap, late entries and a DST change.

The clinic is in London; British Summer Time began on Sunday 29 March 2026 at 01:00 UTC. "Now" is Wednesday
8 April 2026, 10:00 UTC (11:00 BST). The enrollment started on Wednesday 18 March, 3 sessions a week, the
weekly check-in on Mondays. The four weeks the patient sees, Monday to Sunday in London:

- week of 16 March: enrolled 18-22 (5 days), so round(3 * 5 / 7) = 2 prescribed; sessions Thu 19 and Sun 22
  at 23:30 GMT; the check-in day (Mon 16) came before the start, so none is due.
- week of 23 March: 3 prescribed; one session, Sun 29 at 00:30 GMT (half an hour before the switch); the
  check-in on Tue 24 reports 2 exercise days. Low (1 of 3).
- week of 30 March: 3 prescribed; Mon 30 at 00:30 BST (Sun 29, 23:30 UTC) and Fri 3 April, reported four
  days late; no check-in (missed).
- week of 6 April, in progress: one session (Mon 6); check-ins Tue 7 (4 days) and Wed 8 (5 days): the last
  counts.

A session on Sunday 15 March, before the window, is not counted anywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from assessments import questionnaires as q
from assessments.services import assessment_submit
from patients.models import Patient
from programs.models import Enrollment, Phase
from tests.assessments.helpers import quiet_session, quiet_weekly
from tests.factories import EnrollmentFactory, PortalPatientFactory

NOW = dt.datetime(2026, 4, 8, 10, 0, tzinfo=dt.UTC)
UTC = dt.UTC

SESSIONS = [
    dt.datetime(2026, 3, 15, 10, 0, tzinfo=UTC),  # before the window
    dt.datetime(2026, 3, 19, 10, 0, tzinfo=UTC),
    dt.datetime(2026, 3, 22, 23, 30, tzinfo=UTC),  # Sunday 23:30 GMT: still the week of 16 March
    dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # Sunday 00:30 GMT, half an hour before the switch
    dt.datetime(2026, 3, 29, 23, 30, tzinfo=UTC),  # Monday 30 March 00:30 BST: the next week
    LATE := dt.datetime(2026, 4, 3, 17, 0, tzinfo=UTC),  # Friday, reported four days late
    dt.datetime(2026, 4, 6, 8, 0, tzinfo=UTC),
]
CHECKINS = [
    (dt.datetime(2026, 3, 24, 9, 0, tzinfo=UTC), 2),
    (dt.datetime(2026, 4, 7, 9, 0, tzinfo=UTC), 4),
    (dt.datetime(2026, 4, 8, 9, 0, tzinfo=UTC), 5),
]
EXPECTED = [
    {"week_start": "2026-03-16", "sessions_reported": 2, "sessions_prescribed": 2, "checkins_done": 0,
     "checkins_due": 0, "exercise_days": None, "in_progress": False},
    {"week_start": "2026-03-23", "sessions_reported": 1, "sessions_prescribed": 3, "checkins_done": 1,
     "checkins_due": 1, "exercise_days": 2, "in_progress": False},
    {"week_start": "2026-03-30", "sessions_reported": 2, "sessions_prescribed": 3, "checkins_done": 0,
     "checkins_due": 1, "exercise_days": None, "in_progress": False},
    {"week_start": "2026-04-06", "sessions_reported": 1, "sessions_prescribed": 3, "checkins_done": 2,
     "checkins_due": 1, "exercise_days": 5, "in_progress": True},
]  # fmt: skip


def _submit(patient: Patient, kind: str, answers: dict[str, Any], at: dt.datetime, time_machine: Any) -> None:
    """Report as the patient would: at the moment itself, or (the Friday session) four days late."""
    sent = at + dt.timedelta(days=4) if at == LATE else at
    time_machine.move_to(sent, tick=False)
    assessment_submit(patient=patient, kind=kind, answers=answers, occurred_at=at)


@pytest.fixture
def history(world: Any, time_machine: Any) -> tuple[Patient, Enrollment]:
    time_machine.move_to(dt.datetime(2026, 3, 14, 12, 0, tzinfo=UTC), tick=False)
    patient: Patient = PortalPatientFactory(therapist=world.therapist, first_name="Ada", last_name="Adherence")
    enrollment: Enrollment = EnrollmentFactory(
        patient=patient, phase=Phase.STABILIZATION, phase_since=dt.date(2026, 3, 18), started_on=dt.date(2026, 3, 18),
        post_workouts_per_week=3, weekly_checkin_weekday=0,
    )  # fmt: skip
    events = [(at, q.POST_WORKOUT, quiet_session()) for at in SESSIONS]
    events += [(at, q.WEEKLY, quiet_weekly(exercise_days_7d=days)) for at, days in CHECKINS]
    for at, kind, answers in events:
        _submit(patient, kind, answers, at, time_machine)
    time_machine.move_to(NOW, tick=False)
    return patient, enrollment


def test_the_patient_sees_their_last_four_weeks_in_me(history: tuple[Patient, Enrollment]) -> None:
    patient, _ = history
    api = APIClient()
    api.force_authenticate(patient.user)

    response = api.get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["adherence"] == EXPECTED


def test_the_patient_page_shows_the_weeks_newest_first_and_marks_a_low_complete_week(
    client: Any, world: Any, history: tuple[Patient, Enrollment]
) -> None:
    patient, _ = history
    client.force_login(world.therapist.user)

    response = client.get(f"/admin/patients/patient/{patient.pk}/change/")

    weeks = response.context["adherence"]
    assert [w.start.isoformat() for w in weeks][:4] == [e["week_start"] for e in reversed(EXPECTED)]
    assert [(w.sessions, w.prescribed, w.low) for w in weeks][:4] == [(1, 3, True), (2, 3, False), (1, 3, True),
                                                                      (2, 2, False)]  # fmt: skip
    page = response.content.decode()
    table = page[page.index('id="adherence"') :]
    assert "Mon 23 Mar 2026" in table
    assert table.count("ws-badge ws-high") == 1  # low: the week of 23 March; the current week is in progress
    assert "5 of 7" in table  # the current week's last check-in


def test_the_attention_view_lists_a_patient_whose_last_week_was_low(
    client: Any, world: Any, history: tuple[Patient, Enrollment], time_machine: Any
) -> None:
    client.force_login(world.therapist.user)

    # On 8 April, last week (30 March - 5 April) had 2 of 3 sessions: not low.
    low = {r.patient.last_name: r.detail for r in client.get("/admin/").context["low_adherence"]}
    assert "Adherence" not in low

    # A week later, the week of 6 April is complete with 1 of 3 sessions.
    time_machine.move_to(NOW + dt.timedelta(days=7), tick=False)
    low = {r.patient.last_name: r.detail for r in client.get("/admin/").context["low_adherence"]}
    assert low["Adherence"] == "last week: 1 of 3 sessions reported"


def test_a_check_in_made_up_to_two_days_early_counts_for_the_week_it_is_due(
    history: tuple[Patient, Enrollment], time_machine: Any
) -> None:
    """As "what is due" counts it (assessments.selectors): the Monday check-in sent on Sunday 12 April is the
    week of 13 April's, done; the portal shows no check-in due that week, and adherence none missed."""
    patient, _ = history
    sunday = dt.datetime(2026, 4, 12, 18, 0, tzinfo=UTC)
    _submit(patient, q.WEEKLY, quiet_weekly(exercise_days_7d=3), sunday, time_machine)
    time_machine.move_to(dt.datetime(2026, 4, 13, 12, 0, tzinfo=UTC), tick=False)  # Monday, the day it is due
    api = APIClient()
    api.force_authenticate(patient.user)

    due = api.get("/api/v1/assessments/due/").json()
    weeks = api.get("/api/v1/me/").json()["adherence"]

    weekly_due = [item for item in due if item["kind"] == "weekly"]
    assert weekly_due[0]["due_at"] == "2026-04-19T23:00:00Z"  # Monday 20 April in London: this week's is in
    assert weeks[-2]["week_start"] == "2026-04-06"
    assert weeks[-2]["checkins_done"] == 2  # Tue 7 and Wed 8; Sunday's is not counted here
    assert weeks[-1]["week_start"] == "2026-04-13"
    assert (weeks[-1]["checkins_done"], weeks[-1]["checkins_due"]) == (1, 1)
    assert weeks[-1]["exercise_days"] == 3
