"""The attention view: the admin's landing page lists what needs acting on, most severe first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from assessments.alerts import alert_resolve
from programs.models import Phase
from tests.assessments.factories import AlertFactory
from tests.assessments.helpers import enrolled_patient, submit_session
from tests.factories import PatientFactory

HOME = "/admin/"


def rows(response: Any) -> list[int]:
    assert response.status_code == 200
    return [row.alert.pk for row in response.context["rows"]]


def test_the_landing_page_lists_open_alerts_urgent_first_then_own_caseload_then_oldest(
    client: Any, world: Any, clock: Any
) -> None:
    mine_routine = AlertFactory(patient=world.patient, rule_id="R-05")
    colleague_high = AlertFactory(patient=world.colleague_patient, rule_id="R-06")
    clock.shift(dt.timedelta(hours=1))
    mine_high = AlertFactory(patient=world.other_patient, rule_id="R-03")
    colleague_urgent = AlertFactory(patient=world.colleague_patient, rule_id="R-01", qualifier="entry:1")
    clock.shift(dt.timedelta(hours=1))
    mine_high_newer = AlertFactory(patient=world.patient, rule_id="R-06")
    AlertFactory(patient=world.foreign_patient, rule_id="R-01", qualifier="entry:2")  # another clinic
    resolved = AlertFactory(patient=world.patient, rule_id="R-04", qualifier="left")
    alert_resolve(alert=resolved, by=world.therapist.user, note="Settled")
    client.force_login(world.therapist.user)

    response = client.get(HOME)

    assert rows(response) == [colleague_urgent.pk, mine_high.pk, mine_high_newer.pk, colleague_high.pk, mine_routine.pk]
    assert resolved.pk not in rows(response)
    page = response.content.decode()
    first = page.index(f'data-alert="{colleague_urgent.pk}"')
    assert first < page.index(f'data-alert="{mine_high.pk}"')
    assert "Lena Schulz" in page  # staff pages name the patient
    assert f'href="/admin/assessments/alert/{colleague_urgent.pk}/change/"' in page  # one click opens it
    assert colleague_urgent.words().summary in page
    counts = response.context["counts"]
    assert counts == {
        "urgent": {"all": 1, "mine": 0},
        "high": {"all": 3, "mine": 2},
        "routine": {"all": 1, "mine": 1},
    }


def test_the_landing_page_lists_quiet_low_adherence_and_phase_review_patients(
    client: Any, world: Any, clock: Any
) -> None:
    regular = enrolled_patient(world.therapist, first_name="Rita", last_name="Regular", days_in_phase=30)
    for days_ago in (1, 3, 5, 8, 10, 12):
        submit_session(regular, days_ago)
    quiet = enrolled_patient(world.therapist, first_name="Quentin", last_name="Quiet", days_in_phase=30)
    submit_session(quiet, 9)
    treated = enrolled_patient(
        world.therapist, first_name="Tara", last_name="Treat", phase=Phase.TREATMENT, days_in_phase=50
    )
    submit_session(treated, 1)
    review = enrolled_patient(world.therapist, first_name="Rolf", last_name="Review", days_in_phase=20)
    submit_session(review, 1)
    AlertFactory(patient=review, rule_id="R-07")
    colleague_quiet = enrolled_patient(world.colleague, first_name="Carl", last_name="Colleague", days_in_phase=30)
    client.force_login(world.therapist.user)

    context = client.get(HOME).context

    quiet_names = [r.patient.last_name for r in context["quiet"]]
    assert "Quiet" in quiet_names
    assert "Regular" not in quiet_names
    assert colleague_quiet.last_name not in quiet_names  # a therapist sees their own caseload here
    low = {r.patient.last_name: r.detail for r in context["low_adherence"]}
    # Last week is Monday 8 to Sunday 14 June (London): Quentin's one session was on the Monday, Rita's on the
    # 9th, 12th and 14th; the check-in day is Monday.
    assert low["Quiet"] == "last week: 1 of 3 sessions reported, weekly check-in missed"
    assert "Regular" not in low
    review_rows = {r.patient.last_name: r.detail for r in context["phase_review"]}
    assert review_rows["Review"].startswith("several warning signs during stabilization")
    assert review_rows["Treat"] == "in treatment for 50 days: readiness check due"
    assert "Regular" not in review_rows


def test_a_clinic_administrator_sees_the_whole_clinics_patients(client: Any, world: Any) -> None:
    enrolled_patient(world.colleague, first_name="Carl", last_name="Colleague", days_in_phase=30)
    client.force_login(world.clinic_admin.user)

    context = client.get(HOME).context

    assert "Colleague" in [r.patient.last_name for r in context["quiet"]]


def test_the_landing_page_costs_the_same_queries_at_5_and_50_alerts_and_patients(
    client: Any, world: Any, django_assert_num_queries: Any
) -> None:
    def grow(n: int) -> None:
        for i in range(n):
            patient = PatientFactory(therapist=world.therapist if i % 2 else world.colleague)
            enrolled_patient(world.therapist)
            AlertFactory(patient=patient, rule_id=("R-01", "R-03", "R-05")[i % 3], qualifier=f"q{i}")

    grow(5)
    client.force_login(world.therapist.user)
    client.get(HOME)
    # The session, user, staff profile and permissions of the app list, then one query each for the open
    # alerts, the severity counts, the quiet and phase-review lists, and two for low adherence (the
    # enrollments, then their entries of the last two weeks).
    with django_assert_num_queries(13) as small:  # and the audit of the reads
        assert len(client.get(HOME).context["rows"]) == 5
    grow(45)
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(client.get(HOME).context["rows"]) == 50
