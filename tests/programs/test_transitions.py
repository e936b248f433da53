"""Phase transitions: the ``enrollment_transition`` service, the admin "Move to another phase" page, audit history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programs.models import Enrollment, Phase, PhaseTransition
from programs.services import enrollment_transition
from tests.assessments.factories import AlertFactory
from tests.factories import OutcomeScoreFactory
from tests.patients.helpers import changeform_data

# Noon in London, 07:00 in New York: both clinics are on 10 March.
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 10)
PHASE_SINCE = TODAY - dt.timedelta(days=21)  # EnrollmentFactory's stabilization phase began three weeks ago

UNMET_READINESS = {
    "criteria": [
        {"number": 1, "label": "Low irritability", "status": "pass"},
        {"number": 2, "label": "Pain-free activities of daily living", "status": "fail"},
    ]
}
MET_READINESS = {"criteria": [{"number": 1, "label": "Low irritability", "status": "pass"}]}


@pytest.fixture(autouse=True)
def _frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def enrollment(world: Any) -> Enrollment:
    enrollment: Enrollment = world.patient.enrollments.get()
    assert (enrollment.phase, enrollment.phase_since) == (Phase.STABILIZATION, PHASE_SINCE)
    return enrollment


def transition_error(**kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        enrollment_transition(**kwargs)
    return caught.value.message_dict


# --- The service -----------------------------------------------------------------------------------


def test_transition_moves_the_enrollment_and_records_the_history_row(world: Any, enrollment: Enrollment) -> None:
    by = world.therapist.user

    transition = enrollment_transition(
        enrollment=enrollment,
        to_phase=Phase.MAINTENANCE,
        by=by,
        reason="  Six weeks without flare-ups; moving to a weekly class.  ",
        effective_date=TODAY - dt.timedelta(days=3),
        irritability_low=True,
        neuro_screen_clear=True,
        motor_control_ok=False,
        readiness=UNMET_READINESS,
    )

    assert (enrollment.phase, enrollment.phase_since) == (Phase.MAINTENANCE, TODAY - dt.timedelta(days=3))
    stored = PhaseTransition.objects.get()
    assert stored == transition
    assert (stored.enrollment, stored.from_phase, stored.to_phase) == (
        enrollment,
        Phase.STABILIZATION,
        Phase.MAINTENANCE,
    )
    assert stored.effective_date == TODAY - dt.timedelta(days=3)
    assert stored.by == by
    assert stored.reason == "Six weeks without flare-ups; moving to a weekly class."
    assert (stored.irritability_low, stored.neuro_screen_clear, stored.motor_control_ok) == (True, True, False)
    assert stored.readiness == UNMET_READINESS


def test_transition_takes_effect_today_by_default_in_the_clinics_time_zone(world: Any, time_machine: Any) -> None:
    # 02:00 UTC on 11 March is still 10 March in New York.
    time_machine.move_to(dt.datetime(2026, 3, 11, 2, 0, tzinfo=dt.UTC), tick=False)
    enrollment = world.foreign_patient.enrollments.get()

    transition = enrollment_transition(
        enrollment=enrollment, to_phase=Phase.TREATMENT, by=world.outsider.user, reason="Pain back after the fall"
    )

    assert transition.effective_date == TODAY
    assert enrollment.phase_since == TODAY


def test_transition_may_be_recorded_late_back_to_the_day_the_phase_began(world: Any, enrollment: Enrollment) -> None:
    transition = enrollment_transition(
        enrollment=enrollment,
        to_phase=Phase.MAINTENANCE,
        by=world.therapist.user,
        reason="",
        effective_date=PHASE_SINCE,
    )

    assert transition.effective_date == PHASE_SINCE


def test_transition_cannot_take_effect_in_the_future(world: Any, enrollment: Enrollment) -> None:
    errors = transition_error(
        enrollment=enrollment,
        to_phase=Phase.MAINTENANCE,
        by=world.therapist.user,
        reason="",
        effective_date=TODAY + dt.timedelta(days=1),
    )

    assert errors == {"effective_date": ["The effective date cannot be in the future."]}
    assert not PhaseTransition.objects.exists()


def test_transition_cannot_take_effect_before_the_current_phase_began(world: Any, enrollment: Enrollment) -> None:
    errors = transition_error(
        enrollment=enrollment,
        to_phase=Phase.MAINTENANCE,
        by=world.therapist.user,
        reason="",
        effective_date=PHASE_SINCE - dt.timedelta(days=1),
    )

    assert list(errors) == ["effective_date"]
    assert str(PHASE_SINCE) in errors["effective_date"][0]
    enrollment.refresh_from_db()
    assert enrollment.phase == Phase.STABILIZATION


def test_transition_of_an_ended_enrollment_is_refused(world: Any, enrollment: Enrollment) -> None:
    Enrollment.objects.filter(pk=enrollment.pk).update(active=False, ended_on=TODAY)

    errors = transition_error(enrollment=enrollment, to_phase=Phase.MAINTENANCE, by=world.therapist.user, reason="x")

    assert list(errors) == ["enrollment"]
    assert not PhaseTransition.objects.exists()


def test_transition_to_the_current_phase_is_refused(world: Any, enrollment: Enrollment) -> None:
    errors = transition_error(enrollment=enrollment, to_phase=Phase.STABILIZATION, by=world.therapist.user, reason="x")

    assert errors == {"to_phase": ["The patient is already in the Core stabilization phase."]}


def test_transition_to_an_unknown_phase_is_refused(world: Any, enrollment: Enrollment) -> None:
    errors = transition_error(enrollment=enrollment, to_phase="discharged", by=world.therapist.user, reason="x")

    assert list(errors) == ["to_phase"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_transition_with_an_unmet_readiness_check_requires_a_reason(
    world: Any, enrollment: Enrollment, reason: str
) -> None:
    errors = transition_error(
        enrollment=enrollment,
        to_phase=Phase.MAINTENANCE,
        by=world.therapist.user,
        reason=reason,
        readiness=UNMET_READINESS,
    )

    assert list(errors) == ["reason"]
    assert not PhaseTransition.objects.exists()


def test_transition_with_a_met_readiness_check_needs_no_reason(world: Any, enrollment: Enrollment) -> None:
    transition = enrollment_transition(
        enrollment=enrollment, to_phase=Phase.MAINTENANCE, by=world.therapist.user, reason="", readiness=MET_READINESS
    )

    assert transition.reason == ""
    assert transition.readiness == MET_READINESS


def test_moving_from_treatment_to_stabilization_snapshots_the_readiness_check(
    world: Any, enrollment: Enrollment
) -> None:
    # No self-assessments yet: the check cannot pass, so the move needs a reason.
    Enrollment.objects.filter(pk=enrollment.pk).update(phase=Phase.TREATMENT)
    by = world.therapist.user

    errors = transition_error(
        enrollment=enrollment, to_phase=Phase.STABILIZATION, by=by, reason="", irritability_low=True
    )
    assert list(errors) == ["reason"]

    transition = enrollment_transition(
        enrollment=enrollment, to_phase=Phase.STABILIZATION, by=by, reason="Clinically ready", irritability_low=True
    )
    criteria = transition.readiness["criteria"]
    assert criteria
    assert any(c["status"] != "pass" for c in criteria)


def test_transitions_build_a_history_in_order(world: Any, enrollment: Enrollment) -> None:
    by = world.therapist.user
    enrollment_transition(
        enrollment=enrollment,
        to_phase=Phase.TREATMENT,
        by=by,
        reason="Flare-up",
        effective_date=TODAY - dt.timedelta(days=7),
    )
    enrollment_transition(enrollment=enrollment, to_phase=Phase.STABILIZATION, by=by, reason="Settled")

    history = list(
        PhaseTransition.objects.filter(enrollment=enrollment).values_list("from_phase", "to_phase", "effective_date")
    )

    assert history == [
        (Phase.TREATMENT, Phase.STABILIZATION, TODAY),
        (Phase.STABILIZATION, Phase.TREATMENT, TODAY - dt.timedelta(days=7)),
    ]


# --- The admin page ------------------------------------------------------------------------------


def transition_url(patient: Any) -> str:
    return f"/admin/patients/patient/{patient.pk}/transition/"


def test_move_page_shows_the_form_with_todays_date_and_the_other_phases(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.get(transition_url(world.patient))

    assert response.status_code == 200
    form = response.context["form"]
    assert [value for value, _ in form.fields["to_phase"].choices] == [Phase.TREATMENT, Phase.MAINTENANCE]
    assert form.fields["effective_date"].initial == TODAY
    content = response.content.decode()
    assert "currently <strong>Core stabilization</strong>" in content
    assert "Record the move" in content


def test_patient_page_links_to_the_move_page(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.get(f"/admin/patients/patient/{world.patient.pk}/change/")

    assert transition_url(world.patient) in response.content.decode()


def test_posting_the_move_page_moves_the_patient_and_records_the_transition(client: Any, world: Any) -> None:
    client.force_login(world.colleague.user)  # any therapist of the clinic may record it

    response = client.post(
        transition_url(world.patient),
        {
            "to_phase": Phase.TREATMENT,
            "effective_date": "2026-03-08",
            "irritability_low": "false",
            "neuro_screen_clear": "true",
            "motor_control_ok": "unknown",
            "reason": "Flare-up after lifting at work",
        },
        follow=True,
    )

    assert response.redirect_chain == [(f"/admin/patients/patient/{world.patient.pk}/change/", 302)]
    assert "Moved to Treatment from 2026-03-08." in [str(m) for m in response.context["messages"]]
    enrollment = world.patient.enrollments.get()
    assert (enrollment.phase, enrollment.phase_since) == (Phase.TREATMENT, dt.date(2026, 3, 8))
    transition = PhaseTransition.objects.get(enrollment=enrollment)
    assert (transition.from_phase, transition.to_phase) == (Phase.STABILIZATION, Phase.TREATMENT)
    assert transition.by == world.colleague.user
    assert transition.reason == "Flare-up after lifting at work"
    # The readiness ratings belong to the move into stabilization: not asked for a move back, not stored.
    assert (transition.irritability_low, transition.neuro_screen_clear, transition.motor_control_ok) == (
        None,
        None,
        None,
    )
    assert "Flare-up after lifting at work" in response.content.decode()  # the phase history on the patient page


def test_a_move_back_to_treatment_shows_the_open_alerts_and_requires_a_reason(client: Any, world: Any) -> None:
    alert = AlertFactory(patient=world.patient, rule_id="R-06")
    client.force_login(world.therapist.user)

    page = client.get(transition_url(world.patient))
    content = page.content.decode()
    assert "Open alerts that may prompt a move back to treatment" in content
    assert f'href="/admin/assessments/alert/{alert.pk}/change/"' in content
    assert alert.words().summary in content
    assert "Maria Lopez" in content  # the page names the patient
    assert set(page.context["form"].fields) == {"to_phase", "program", "effective_date", "reason"}  # no ratings

    refused = client.post(transition_url(world.patient), {"to_phase": Phase.TREATMENT, "effective_date": "2026-03-08"})

    assert refused.status_code == 200
    assert refused.context["form"].errors["reason"] == [
        "Say why the patient goes back to treatment (the alerts or findings)."
    ]
    assert world.patient.enrollments.get().phase == Phase.STABILIZATION


def test_the_move_into_stabilization_asks_the_ratings_and_colours_each_criterion(client: Any, world: Any) -> None:
    Enrollment.objects.filter(patient=world.patient).update(phase=Phase.TREATMENT)
    client.force_login(world.therapist.user)

    page = client.get(transition_url(world.patient))

    assert {"irritability_low", "neuro_screen_clear", "motor_control_ok"} <= set(page.context["form"].fields)
    content = page.content.decode()
    assert content.count('class="ws-criterion"') == 7
    assert 'data-status="unknown"' in content  # the therapist's ratings, not given yet
    assert '<span class="ws-unknown">Unknown</span>' in content
    assert "Your rating: not given yet" in content  # the values in words
    table = content[content.index('id="readiness"') :]
    assert "{" not in table[: table.index("</table>")]


def test_move_page_rerenders_with_the_services_error(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.post(
        transition_url(world.patient),
        {"to_phase": Phase.MAINTENANCE, "effective_date": str(PHASE_SINCE - dt.timedelta(days=1)), "reason": "Late"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["effective_date"] == [
        f"The effective date cannot be before the phase began ({PHASE_SINCE})."
    ]
    assert "The effective date cannot be before the phase began" in response.content.decode()
    assert not PhaseTransition.objects.exists()


def test_move_page_refuses_a_future_date(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.post(
        transition_url(world.patient), {"to_phase": Phase.MAINTENANCE, "effective_date": "2026-03-11"}
    )

    assert response.status_code == 200
    assert "cannot be in the future" in response.content.decode()
    assert world.patient.enrollments.get().phase == Phase.STABILIZATION


def test_move_page_refuses_the_current_phase(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.post(
        transition_url(world.patient), {"to_phase": Phase.STABILIZATION, "effective_date": "2026-03-09"}
    )

    assert response.status_code == 200
    assert "to_phase" in response.context["form"].errors
    assert not PhaseTransition.objects.exists()


def test_move_page_of_a_patient_in_treatment_shows_the_readiness_check_and_asks_for_a_reason(
    client: Any, world: Any, enrollment: Enrollment
) -> None:
    Enrollment.objects.filter(pk=enrollment.pk).update(phase=Phase.TREATMENT)
    client.force_login(world.therapist.user)

    page = client.get(transition_url(world.patient))
    response = client.post(
        transition_url(world.patient), {"to_phase": Phase.STABILIZATION, "effective_date": "2026-03-09", "reason": ""}
    )

    assert "Readiness check: treatment" in page.content.decode()
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["reason"]
    assert not PhaseTransition.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_move_page_of_another_clinics_patient_is_a_404(client: Any, world: Any, method: str) -> None:
    client.force_login(world.therapist.user)

    response = getattr(client, method)(
        transition_url(world.foreign_patient), {"to_phase": Phase.TREATMENT, "effective_date": "2026-03-09"}
    )

    assert response.status_code == 404
    assert world.foreign_patient.enrollments.get().phase == Phase.STABILIZATION


def test_move_page_without_an_active_enrollment_sends_back_to_the_patient(client: Any, world: Any) -> None:
    world.patient.enrollments.update(active=False, ended_on=TODAY)
    client.force_login(world.therapist.user)

    response = client.get(transition_url(world.patient), follow=True)

    assert response.redirect_chain == [(f"/admin/patients/patient/{world.patient.pk}/change/", 302)]
    assert "This patient has no active enrollment to move." in [str(m) for m in response.context["messages"]]


# --- Audit history ---------------------------------------------------------------------------------


def test_changing_a_patient_in_the_admin_writes_an_audit_row_with_the_therapist_as_actor(
    client: Any, world: Any
) -> None:
    client.force_login(world.therapist.user)
    url = f"/admin/patients/patient/{world.patient.pk}/change/"
    page = client.get(url)

    response = client.post(url, changeform_data(page, last_name="Lopez-Garcia"))

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    world.patient.refresh_from_db()
    assert world.patient.last_name == "Lopez-Garcia"
    entry = LogEntry.objects.get_for_object(world.patient).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == world.therapist.user
    assert entry.changes_dict["last_name"] == ["Lopez", "Lopez-Garcia"]


def test_moving_a_patient_in_the_admin_audits_the_transition_and_enrollment(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    client.post(transition_url(world.patient), {"to_phase": Phase.MAINTENANCE, "effective_date": "2026-03-09"})

    transition = PhaseTransition.objects.get()
    created = LogEntry.objects.get_for_object(transition).get()
    assert (created.action, created.actor) == (LogEntry.Action.CREATE, world.therapist.user)
    updated = LogEntry.objects.get_for_object(transition.enrollment).get(action=LogEntry.Action.UPDATE)
    assert updated.actor == world.therapist.user
    assert updated.changes_dict["phase"] == [Phase.STABILIZATION, Phase.MAINTENANCE]


def test_adding_an_outcome_score_in_the_admin_records_who_entered_it(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.post(
        "/admin/programs/outcomescore/add/",
        {"patient": world.patient.pk, "instrument": "PSFS", "score": "6.5", "recorded_on": "2026-03-09"},
    )

    assert response.status_code == 302
    outcome = world.patient.outcome_scores.get()
    assert outcome.entered_by == world.therapist.user
    assert LogEntry.objects.get_for_object(outcome).get().actor == world.therapist.user


def test_audit_history_page_of_a_patient_is_read_only_for_the_clinic(client: Any, world: Any) -> None:
    OutcomeScoreFactory(patient=world.patient)
    client.force_login(world.therapist.user)
    url = f"/admin/patients/patient/{world.patient.pk}/change/"
    client.post(url, changeform_data(client.get(url), first_name="Mariana"))

    response = client.get(f"/admin/patients/patient/{world.patient.pk}/auditlog/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Mariana" in content
    assert client.get("/admin/auditlog/logentry/").status_code == 403  # a therapist has no log browser


def test_the_move_page_costs_the_same_queries_with_more_open_alerts(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)
    AlertFactory(patient=world.patient, rule_id="R-06")
    client.get(transition_url(world.patient))
    with CaptureQueriesContext(connection) as few:
        client.get(transition_url(world.patient))
    for i in range(10):
        AlertFactory(patient=world.patient, rule_id="R-04", qualifier=f"side{i}")

    with CaptureQueriesContext(connection) as many:
        client.get(transition_url(world.patient))

    assert len(many.captured_queries) == len(few.captured_queries)
