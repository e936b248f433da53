"""The readiness check treatment -> stabilization on the admin "Move to another phase" page.

Each criterion of RULES.md is shown as pass / fail / unknown; moving with a criterion not met needs a
reason, and the transition stores the snapshot the therapist saw, with the therapist's ratings (5-7).
"""

from __future__ import annotations

from typing import Any

import pytest

from programs.models import Enrollment, Phase, PhaseTransition
from tests.assessments.factories import AlertFactory
from tests.assessments.helpers import TODAY, enrolled_patient, submit_session, submit_weekly

ALL_RATINGS_CLEAR = {"irritability_low": "true", "neuro_screen_clear": "true", "motor_control_ok": "true"}


def transition_url(patient: Any) -> str:
    return f"/admin/patients/patient/{patient.pk}/transition/"


def statuses(readiness: dict[str, Any]) -> dict[int, str]:
    return {c["number"]: c["status"] for c in readiness["criteria"]}


@pytest.fixture
def settled(world: Any) -> Any:
    """A patient in treatment whose self-assessments meet criteria 1-4 and 6 (with a clear neuro screen)."""
    patient = enrolled_patient(world.therapist, phase=Phase.TREATMENT, days_in_phase=30)
    submit_weekly(patient, 8)
    submit_session(patient, 3)
    submit_session(patient, 1)
    submit_weekly(patient, 1)
    return patient


def move(client: Any, patient: Any, **data: Any) -> Any:
    body = {"to_phase": Phase.STABILIZATION, "effective_date": TODAY.isoformat(), "reason": "", **data}
    return client.post(transition_url(patient), body)


def test_the_move_page_shows_each_readiness_criterion_as_pass_fail_or_unknown(
    client: Any, world: Any, settled: Any
) -> None:
    alert = AlertFactory(patient=settled, rule_id="R-03")  # an unresolved high alert
    submit_weekly(settled, 0, back_pain_avg_7d=5)  # and the latest weekly is not low
    client.force_login(world.therapist.user)

    response = client.get(transition_url(settled))

    assert response.status_code == 200
    readiness = response.context["readiness"]
    assert statuses(readiness) == {
        1: "fail",
        2: "fail",
        3: "pass",
        4: "pass",
        5: "unknown",
        6: "unknown",
        7: "unknown",
    }
    assert readiness["criteria"][0]["values"]["unresolved_alerts"] == [
        {"rule_id": "R-03", "severity": "high", "qualifier": alert.qualifier}
    ]
    page = response.content.decode()
    assert "Readiness check: treatment" in page
    for label in ("No unresolved urgent or high alert", "Weekly back pain &lt;= 3", "Motor control"):
        assert label in page
    for status in ("pass", "fail", "unknown"):  # each result coloured by its class
        assert f'<span class="ws-{status}">{status.capitalize()}</span>' in page
        assert f'data-status="{status}"' in page
    assert "Unresolved urgent or high alerts: rule R-03, severity high" in page  # the values in words


def test_the_move_page_of_a_patient_in_stabilization_shows_no_readiness_check(client: Any, world: Any) -> None:
    patient = enrolled_patient(world.therapist, phase=Phase.STABILIZATION)
    client.force_login(world.therapist.user)

    response = client.get(transition_url(patient))

    assert response.status_code == 200
    assert response.context["readiness"] is None


def test_moving_with_an_unmet_criterion_and_no_reason_rerenders_with_the_error(
    client: Any, world: Any, settled: Any
) -> None:
    submit_session(settled, 0, safety_screen=["bladder_change"])  # a red flag in the last 28 days
    client.force_login(world.therapist.user)

    response = move(client, settled, **ALL_RATINGS_CLEAR)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["reason"]
    assert "record the reason for moving now" in response.content.decode()
    assert statuses(response.context["readiness"])[1] == "fail"
    assert not PhaseTransition.objects.exists()
    assert Enrollment.objects.get(patient=settled).phase == Phase.TREATMENT


def test_the_rerendered_check_keeps_the_therapists_ratings(client: Any, world: Any, settled: Any) -> None:
    submit_weekly(settled, 0, flare_7d=True)
    client.force_login(world.therapist.user)

    response = move(client, settled, irritability_low="true", neuro_screen_clear="true", motor_control_ok="false")

    assert list(response.context["form"].errors) == ["reason"]
    assert statuses(response.context["readiness"]) == {
        1: "pass",
        2: "pass",
        3: "fail",
        4: "pass",
        5: "pass",
        6: "pass",
        7: "fail",
    }


def test_moving_with_a_reason_records_the_transition_with_the_readiness_snapshot(
    client: Any, world: Any, settled: Any
) -> None:
    submit_weekly(settled, 0, flare_7d=True)
    client.force_login(world.therapist.user)

    response = move(client, settled, reason="Flare was a house move; agreed with the patient", **ALL_RATINGS_CLEAR)

    assert response.status_code == 302
    transition = PhaseTransition.objects.get()
    assert (transition.from_phase, transition.to_phase, transition.effective_date) == (
        Phase.TREATMENT,
        Phase.STABILIZATION,
        TODAY,
    )
    assert transition.reason == "Flare was a house move; agreed with the patient"
    assert transition.by == world.therapist.user
    assert [c["number"] for c in transition.readiness["criteria"]] == [1, 2, 3, 4, 5, 6, 7]
    assert statuses(transition.readiness) == {
        1: "pass",
        2: "pass",
        3: "fail",
        4: "pass",
        5: "pass",
        6: "pass",
        7: "pass",
    }
    assert transition.readiness["all_passed"] is False
    assert all(c["label"] and "values" in c for c in transition.readiness["criteria"])
    enrollment = Enrollment.objects.get(patient=settled)
    assert (enrollment.phase, enrollment.phase_since) == (Phase.STABILIZATION, TODAY)


def test_moving_with_every_criterion_met_needs_no_reason(client: Any, world: Any, settled: Any) -> None:
    client.force_login(world.therapist.user)

    response = move(client, settled, **ALL_RATINGS_CLEAR)

    assert response.status_code == 302
    transition = PhaseTransition.objects.get()
    assert transition.reason == ""
    assert transition.readiness["all_passed"] is True
    assert set(statuses(transition.readiness).values()) == {"pass"}


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        ({}, {5: "unknown", 6: "unknown", 7: "unknown"}),
        (ALL_RATINGS_CLEAR, {5: "pass", 6: "pass", 7: "pass"}),
        (
            {"irritability_low": "false", "neuro_screen_clear": "false", "motor_control_ok": "false"},
            {5: "fail", 6: "fail", 7: "fail"},
        ),
        ({"irritability_low": "true", "neuro_screen_clear": "unknown"}, {5: "pass", 6: "unknown", 7: "unknown"}),
    ],
)
def test_the_therapists_ratings_feed_criteria_5_to_7(
    client: Any, world: Any, settled: Any, ratings: dict[str, str], expected: dict[int, str]
) -> None:
    client.force_login(world.therapist.user)

    move(client, settled, reason="Recorded for the test", **ratings)

    transition = PhaseTransition.objects.get()
    assert {n: s for n, s in statuses(transition.readiness).items() if n >= 5} == expected
    assert (transition.irritability_low, transition.neuro_screen_clear, transition.motor_control_ok) == tuple(
        {"true": True, "false": False}.get(ratings.get(k, "unknown"))
        for k in ("irritability_low", "neuro_screen_clear", "motor_control_ok")
    )


def test_neural_features_in_the_last_14_days_fail_criterion_6_whatever_the_screen(
    client: Any, world: Any, settled: Any
) -> None:
    submit_session(
        settled,
        0,
        thigh_symptoms="left",
        thigh_level=3,
        thigh_stretch_response="no_change",
        thigh_below_knee=False,
        thigh_nerve_qualities=[],
    )
    client.force_login(world.therapist.user)

    move(client, settled, reason="Recorded for the test", **ALL_RATINGS_CLEAR)

    criterion = PhaseTransition.objects.get().readiness["criteria"][5]
    assert (criterion["number"], criterion["status"]) == (6, "fail")
    assert criterion["values"]["entries_with_features"][0]["side"] == "left"
