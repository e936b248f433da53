"""The patient page as a clinical timeline: trend charts over 30 / 90 / 365 days, then the timeline."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.alerts import alert_resolve
from assessments.models import Alert
from programs.models import Enrollment, Phase, PhaseTransition
from tests.assessments.factories import AlertFactory
from tests.assessments.helpers import NOW, enrolled_patient, scan, submit_session, submit_weekly


def page_url(patient: Any, days: int | None = None) -> str:
    url = f"/admin/patients/patient/{patient.pk}/change/"
    return f"{url}?days={days}" if days else url


def chart_data(response: Any) -> dict[str, Any]:
    assert response.status_code == 200
    found = re.search(r'<script id="ws-chart-data" type="application/json">(.*?)</script>', response.content.decode())
    assert found, "the chart data is embedded in the page"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def series(data: dict[str, Any], chart: str, key: str) -> list[float]:
    spec = next(c for c in data["charts"] if c["id"] == chart)
    return [p["y"] for p in next(s for s in spec["series"] if s["key"] == key)["points"]]


def test_the_charts_hold_the_daily_values_per_side_and_the_weekly_scores(client: Any, world: Any) -> None:
    patient = enrolled_patient(world.therapist, days_in_phase=40)
    submit_session(patient, 3, back_pain_now=2, thigh_symptoms="left", thigh_level=3, thigh_stretch_response="eases",
                   thigh_below_knee=False, thigh_nerve_qualities=[])  # fmt: skip
    submit_session(patient, 2, back_pain_now=4, thigh_symptoms="right", thigh_level=5,
                   thigh_stretch_response="worse", thigh_below_knee=True, thigh_nerve_qualities=[])  # fmt: skip
    submit_weekly(patient, 1, back_pain_avg_7d=3, exercise_days_7d=4)
    client.force_login(world.therapist.user)

    data = chart_data(client.get(page_url(patient, 30)))

    assert series(data, "pain", "back_pain_now") == [2.0, 4.0]
    assert series(data, "leg", "thigh_left") == [3.0]
    assert series(data, "leg", "thigh_right") == [5.0]
    assert series(data, "leg", "thigh_both") == []
    assert series(data, "pain", "back_pain_avg_7d") == [3.0]
    assert series(data, "exercise", "exercise_days_7d") == [4.0]
    assert series(data, "function", "peg_score")  # the weekly's PEG score
    assert data["range"]["days"] == 30
    assert [b["phase"] for b in data["phases"]] == [Phase.STABILIZATION]


def test_alerts_are_marked_on_their_charts_and_the_phase_bands_follow_the_transitions(client: Any, world: Any) -> None:
    patient = enrolled_patient(world.therapist, days_in_phase=10)
    enrollment = Enrollment.objects.get(patient=patient)
    PhaseTransition.objects.create(
        enrollment=enrollment, from_phase=Phase.TREATMENT, to_phase=Phase.STABILIZATION,
        effective_date=enrollment.phase_since, by=world.therapist.user, reason="Ready",
    )  # fmt: skip
    submit_session(patient, 2, stiffness_change="stiffer")
    submit_session(patient, 1, stiffness_change="stiffer")
    scan(patient)
    client.force_login(world.therapist.user)

    data = chart_data(client.get(page_url(patient, 90)))

    stiffness = next(c for c in data["charts"] if c["id"] == "stiffness")
    assert [a["rule"] for a in stiffness["alerts"]] == ["R-03"]
    assert next(c for c in data["charts"] if c["id"] == "neck")["alerts"] == []
    assert [b["phase"] for b in data["phases"]] == [Phase.TREATMENT, Phase.STABILIZATION]


def test_the_timeline_lists_entries_alerts_with_notes_and_transitions_newest_first(client: Any, world: Any) -> None:
    patient = enrolled_patient(world.therapist, days_in_phase=5)
    enrollment = Enrollment.objects.get(patient=patient)
    move = PhaseTransition.objects.create(
        enrollment=enrollment, from_phase=Phase.TREATMENT, to_phase=Phase.STABILIZATION,
        effective_date=enrollment.phase_since, by=world.therapist.user, reason="Pain settled",
    )  # fmt: skip
    submit_session(patient, 2, stiffness_change="stiffer")
    entry = submit_session(patient, 1, stiffness_change="stiffer")
    scan(patient)
    alert = Alert.objects.get(patient=patient)
    alert_resolve(alert=alert, by=world.therapist.user, note="Load reduced for a week")
    client.force_login(world.therapist.user)

    response = client.get(page_url(patient))

    timeline = response.context["picture"]["timeline"]
    assert [item["at"] for item in timeline] == sorted((item["at"] for item in timeline), reverse=True)
    types = [item["type"] for item in timeline]
    assert types.count("entry") == 2
    assert types[-1] == "phase"
    page = response.content.decode()
    assert f'href="/admin/assessments/entry/{entry.pk}/change/"' in page
    assert f'href="/admin/assessments/alert/{alert.pk}/change/"' in page
    assert f'href="/admin/programs/phasetransition/{move.pk}/change/"' in page
    assert "Note: Load reduced for a week" in page  # resolved alerts stay on the patient's page
    assert "Resolved" in page
    assert "Reason: Pain settled" in page
    assert f"{patient.first_name} {patient.last_name}" in page


def test_an_unknown_range_falls_back_to_90_days_and_another_clinics_patient_is_a_404(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    assert chart_data(client.get(page_url(world.patient, 7)))["range"]["days"] == 90
    assert chart_data(client.get(f"{page_url(world.patient)}?days=x"))["range"]["days"] == 90
    assert client.get(page_url(world.foreign_patient)).status_code == 404


def test_the_page_costs_the_same_queries_at_30_and_365_days_and_with_more_history(
    client: Any, world: Any, clock: Any, django_assert_num_queries: Any
) -> None:
    patient = enrolled_patient(world.therapist, days_in_phase=300)
    submit_session(patient, 1)
    AlertFactory(patient=patient)
    client.force_login(world.therapist.user)
    client.get(page_url(patient, 30))

    with CaptureQueriesContext(connection) as at_30:
        client.get(page_url(patient, 30))
    count = len(at_30.captured_queries)
    with django_assert_num_queries(count):
        client.get(page_url(patient, 365))
    for days_ago in range(290, 1, -3):  # a long history, each entry submitted on its day
        clock.move_to(NOW - dt.timedelta(days=days_ago), tick=False)
        submit_session(patient, 0)
        if days_ago % 7 == 0:
            submit_weekly(patient, 0)
    clock.move_to(NOW, tick=False)
    for i in range(5):
        AlertFactory(patient=patient, rule_id="R-05", qualifier=f"q{i}")
    with django_assert_num_queries(count):
        client.get(page_url(patient, 365))
    with django_assert_num_queries(count):
        client.get(page_url(patient, 30))
