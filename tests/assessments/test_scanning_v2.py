"""Scans under ruleset core v2: judged as of each new entry, escalation, R-11's burst wait and `cleared`,
outcome scores judged like entries, and the therapist's safety-screen reviews.

Entries go through ``assessment_submit`` and scans through ``scan_patients``, as the workers run them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from assessments.alerts import alert_resolve
from assessments.models import Alert, OutgoingEmail, SafetyScreenReview
from assessments.notifications import digest_send
from assessments.rules import RULES
from assessments.services import assessment_submit
from assessments.wording import plain
from programs.models import OutcomeScore, Phase
from programs.services import outcome_score_record
from tests.assessments.helpers import enrolled_patient, quiet_session, scan, sent, submit_session, submit_weekly

NECK_TENSION = {"neck_symptoms": "tension", "neck_level": 3}
PAIN_INTO_ARM = {"neck_symptoms": "pain_into_arm", "neck_level": 4}


def _alert(patient: Any, rule_id: str) -> Alert:
    return Alert.objects.get(patient=patient, rule_id=rule_id)


def test_a_diary_synced_oldest_first_raises_no_engagement_drop(world: Any, clock: Any) -> None:
    patient = enrolled_patient(world.therapist, days_in_phase=20)
    for days_ago in range(19, -1, -2):  # a paper diary typed in at once, oldest first, each scanned at once
        submit_session(patient, days_ago)
        if days_ago in (19, 15):
            submit_weekly(patient, days_ago)
        scan(patient)
    submit_weekly(patient, 1)
    report = scan(patient)
    assert report.r11_due, "R-11 waits for the end of the burst"

    clock.shift(dt.timedelta(minutes=11))
    scan(patient)

    assert not Alert.objects.filter(patient=patient).exists()


def test_engagement_drop_is_cleared_by_the_entry_that_filled_the_gap_and_left_out_of_the_digest(
    world: Any, clock: Any
) -> None:
    patient = enrolled_patient(world.therapist, days_in_phase=20)
    scan(patient)
    alert = _alert(patient, "R-11")
    assert alert.status == Alert.Status.OPEN

    for days_ago in (13, 6):
        submit_weekly(patient, days_ago)
    for days_ago in (5, 3, 1):
        newest = submit_session(patient, days_ago)
    scan(patient)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN, "R-11 is not judged during the burst"
    clock.shift(dt.timedelta(minutes=11))
    scan(patient)

    alert.refresh_from_db()
    assert alert.status == Alert.Status.CLEARED
    assert alert.cleared_by_entry_id == newest.pk
    assert alert.cleared_at == timezone.now()
    assert alert.resolved_at is None
    world.therapist.next_digest_at = timezone.now() - dt.timedelta(minutes=1)
    world.therapist.last_digest_at = timezone.now() - dt.timedelta(days=2)
    world.therapist.save()
    assert digest_send(therapist=world.therapist, now=timezone.now()) is None  # nothing else to say

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=world.therapist.user)[1]}")
    listed = client.get("/api/v1/alerts/", {"status": "cleared"}).json()["results"]
    assert [(a["id"], a["cleared_by_entry"]) for a in listed] == [(alert.pk, newest.pk)]
    assert listed[0]["criteria_described"][0]["text"].startswith("no post-workout")
    assert listed[0]["evidence_words"]["summary"] == alert.words().summary
    assert listed[0]["evidence_words"]["criteria"][0]["text"].startswith("no post-workout entry for 7 days")
    refused = client.post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "cleared"


def test_a_new_criterion_escalates_the_open_alert_and_emails_it_as_a_new_high_alert(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 2, **NECK_TENSION)
    submit_session(patient, 1, **NECK_TENSION)
    scan(patient)
    alert = _alert(patient, "R-05")
    assert (alert.severity, alert.escalations) == ("routine", 0)
    assert not OutgoingEmail.objects.exists()  # routine: the digest's

    submit_session(patient, 0, **PAIN_INTO_ARM)
    scan(patient)

    alert.refresh_from_db()
    assert Alert.objects.filter(patient=patient, rule_id="R-05").count() == 1
    assert (alert.severity, alert.escalations) == ("high", 1)
    email = sent(OutgoingEmail.objects.get())
    assert email.key == f"alert:{alert.pk}:escalation:1"
    assert email.subject.endswith("(escalated)")
    assert "Escalated" in email.body_text
    for code in alert.criteria:  # the criteria met, in the catalog's words
        assert f"({code}) {plain(RULES['R-05'].criteria[code])}" in email.body_text


def test_a_back_filled_diary_scanned_at_once_emails_each_alert_once_in_its_final_state(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 3, **NECK_TENSION)
    submit_session(patient, 2, **NECK_TENSION)
    submit_session(patient, 1, **PAIN_INTO_ARM)

    scan(patient)

    alert = _alert(patient, "R-05")
    assert alert.severity == "high"
    assert list(OutgoingEmail.objects.values_list("key", flat=True)) == [f"alert:{alert.pk}:immediate"]


def test_an_outcome_score_runs_function_decline_as_of_its_date(world: Any) -> None:
    patient = enrolled_patient(world.therapist, days_in_phase=30)
    user = world.therapist.user
    today = timezone.localdate()
    for days_ago, odi in ((20, 20), (10, 26)):
        outcome_score_record(
            score=OutcomeScore(
                patient=patient, instrument="ODI", score=odi, recorded_on=today - dt.timedelta(days_ago)
            ),
            by=user,
        )
        scan(patient)
    assert not Alert.objects.filter(patient=patient, rule_id="R-08").exists(), "a rise of 6 stays quiet"

    score = outcome_score_record(
        score=OutcomeScore(patient=patient, instrument="ODI", score=31, recorded_on=today - dt.timedelta(days=2)),
        by=user,
    )
    assert OutcomeScore.objects.filter(scanned_at__isnull=True).get() == score
    scan(patient)

    alert = _alert(patient, "R-08")
    assert alert.evidence[-1]["kind"] == "outcome_score"
    assert not OutcomeScore.objects.filter(scanned_at__isnull=True).exists()


def test_an_unchanged_item_assessed_stable_raises_r01_at_high_and_tells_the_patient_to_call_if_it_changes(
    world: Any,
) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 3, safety_screen=["bladder_change"])
    scan(patient)
    first = _alert(patient, "R-01")
    assert first.severity == "urgent"
    alert_resolve(
        alert=first,
        by=world.therapist.user,
        note="Seen today: long-standing, unchanged, no emergency referral.",
        reviews=[{"item": "bladder_change", "outcome": "stable", "assessed_on": timezone.localdate()}],
    )
    assert SafetyScreenReview.objects.get().outcome == "stable"

    answers = quiet_session(safety_screen=["bladder_change"], safety_screen_unchanged=["bladder_change"])
    submitted = assessment_submit(patient=patient, kind="post_workout", answers=answers)
    scan(patient)

    second = Alert.objects.exclude(pk=first.pk).get(patient=patient, rule_id="R-01")
    assert second.severity == "high"
    assert all(a["level"] != "urgent" for a in submitted.advice)
    assert "contact the clinic today if they change" in submitted.advice[0]["message"]


def test_an_unchanged_item_without_a_stable_review_stays_urgent(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    answers = quiet_session(safety_screen=["bladder_change"], safety_screen_unchanged=["bladder_change"])

    submitted = assessment_submit(patient=patient, kind="post_workout", answers=answers)
    scan(patient)

    assert _alert(patient, "R-01").severity == "urgent"
    assert submitted.advice[0]["level"] == "urgent"


def test_the_weekly_safety_screen_raises_r01_for_a_patient_who_stopped_working_out(world: Any) -> None:
    patient = enrolled_patient(world.therapist, phase=Phase.TREATMENT)

    entry = submit_weekly(patient, 0, safety_screen=["saddle_numbness"])
    scan(patient)

    alert = _alert(patient, "R-01")
    assert (alert.severity, alert.qualifier) == ("urgent", f"entry:{entry.pk}")
    assert OutgoingEmail.objects.filter(key=f"alert:{alert.pk}:immediate").exists()


def test_a_fall_alone_is_high_and_urgent_for_a_patient_with_fracture_risk(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    submit_weekly(patient, 0, systemic_flags=["fall_or_injury"])
    frail = enrolled_patient(world.therapist, fracture_risk=True)
    submit_weekly(frail, 0, systemic_flags=["fall_or_injury"])

    scan(patient, frail)

    assert _alert(patient, "R-02").severity == "high"
    assert _alert(frail, "R-02").severity == "urgent"


def test_weekly_entries_store_their_peg_and_psfs_scores(world: Any) -> None:
    patient = enrolled_patient(world.therapist)

    entry = submit_weekly(patient, 0, peg_pain=7, peg_enjoyment=6, peg_activity=6, psfs_1=5, psfs_2=6, psfs_3=8)

    entry.refresh_from_db()
    assert (str(entry.peg_score), str(entry.psfs_score)) == ("6.3", "6.3")


def test_a_later_referred_review_undoes_an_earlier_stable_one(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    today = timezone.localdate()
    for days_ago, outcome in ((40, "stable"), (5, "referred")):
        SafetyScreenReview.objects.create(
            patient=patient,
            item="saddle_numbness",
            outcome=outcome,
            assessed_on=today - dt.timedelta(days=days_ago),
            recorded_by=world.therapist.user,
        )
    answers = quiet_session(safety_screen=["saddle_numbness"], safety_screen_unchanged=["saddle_numbness"])

    submitted = assessment_submit(patient=patient, kind="post_workout", answers=answers)
    scan(patient)

    assert submitted.advice[0]["level"] == "urgent"
    assert _alert(patient, "R-01").severity == "urgent"


def test_an_engagement_drop_switched_off_is_not_marked_cleared(world: Any, clock: Any) -> None:
    from assessments.models import RuleSet

    patient = enrolled_patient(world.therapist, days_in_phase=20)
    scan(patient)
    RuleSet.objects.filter(is_active=True).update(params={"r11_enabled": False})
    clock.shift(dt.timedelta(hours=1))

    scan(patient)

    assert _alert(patient, "R-11").status == Alert.Status.OPEN


def test_an_outcome_score_dated_long_ago_is_still_marked_scanned(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    old = timezone.localdate() - dt.timedelta(days=200)
    outcome_score_record(
        score=OutcomeScore(patient=patient, instrument="ODI", score=30, recorded_on=old), by=world.therapist.user
    )

    scan(patient)

    assert not OutcomeScore.objects.filter(scanned_at__isnull=True).exists()


def test_an_escalation_keeps_the_values_of_earlier_criteria_and_takes_the_new_words(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 2, **NECK_TENSION)
    submit_session(patient, 1, **NECK_TENSION)
    scan(patient)
    submit_session(patient, 0, **PAIN_INTO_ARM)

    scan(patient)

    alert = _alert(patient, "R-05")
    assert set(alert.criteria) <= set(alert.values)  # every criterion keeps the values it was judged on
    assert "A" in alert.values
