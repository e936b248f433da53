"""Scans: entries submitted through the service raise the right alerts, once, with their evidence.

Every entry here goes through ``assessment_submit`` (the public service) and every scan through
``scan_patients``; the pure rules engine itself is unit-tested in tests/rules.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from assessments import rules, scanning
from assessments.alerts import alert_resolve
from assessments.models import Alert, Entry, OutgoingEmail, RuleSet
from assessments.rules import engine, screening
from assessments.scanning import MAX_SCAN_FAILURES, RED_FLAG_RULES, scan_patients, unscanned_patient_ids
from assessments.tasks import evaluate_enrolled, sweep_unscanned
from programs.models import Phase
from tests.assessments.factories import AlertFactory
from tests.assessments.helpers import (
    NOW,
    enrolled_patient,
    evidence_ids,
    rules_raised,
    scan,
    submit_session,
    submit_weekly,
)

SESSION = "session"
WEEKLY = "weekly"

RIGHT_THIGH_NEURAL = {
    "thigh_symptoms": "right",
    "thigh_level": 4,
    "thigh_stretch_response": "worse",
    "thigh_below_knee": True,
    "thigh_nerve_qualities": ["pins_needles"],
}
STIFFER = {"stiffness_change": "stiffer"}
LONG_EASING_MORNING_STIFFNESS = {"morning_stiffness_duration": "30_60", "stiffness_eases_with_movement": True}


@dataclass(frozen=True)
class Pattern:
    """Entries to submit (kind, days ago, answers) and the one alert they must raise.

    ``qualifier`` is formatted with the ids of the submitted entries (red flags key on their entry);
    ``evidence`` lists the positions of the submitted entries expected as evidence.
    """

    rule_id: str
    severity: str
    criteria: list[str]
    steps: list[tuple[str, float, dict[str, Any]]]
    evidence: list[int]
    qualifier: str = ""
    days_in_phase: int = 10
    phase: str = Phase.STABILIZATION


PATTERNS = [
    pytest.param(
        Pattern("R-01", "urgent", ["A"], [(SESSION, 1, {"safety_screen": ["saddle_numbness"]})], [0], "entry:{0}"),
        id="R-01-safety-screen-item",
    ),
    pytest.param(
        Pattern(
            "R-02",
            "urgent",
            ["A"],
            [(SESSION, 1, {}), (WEEKLY, 1, {"systemic_flags": ["fever_or_unwell"]})],
            [1],
            "entry:{1}",
        ),
        id="R-02-systemic-flag",
    ),
    pytest.param(
        Pattern("R-03", "high", ["A"], [(SESSION, 3, {}), (SESSION, 2, STIFFER), (SESSION, 1, STIFFER)], [1, 2]),
        id="R-03-stiffer-in-2-of-the-last-3-sessions",
    ),
    pytest.param(
        Pattern(
            "R-03",
            "high",
            ["C"],
            [(SESSION, 3, {"spine_check": "clearly_restricted"}), (SESSION, 1, {"spine_check": "clearly_restricted"})],
            [0, 1],
        ),
        id="R-03-clearly-restricted-twice-in-7-days",
    ),
    pytest.param(
        Pattern("R-04", "high", ["A", "D"], [(SESSION, 1, RIGHT_THIGH_NEURAL)], [0], "right"),
        id="R-04-one-sided-thigh-with-neural-features",
    ),
    pytest.param(
        Pattern(
            "R-05",
            "routine",
            ["A"],
            [
                (SESSION, 2, {"neck_symptoms": "tension", "neck_level": 3}),
                (SESSION, 1, {"neck_symptoms": "pain", "neck_level": 4}),
            ],
            [0, 1],
        ),
        id="R-05-neck-tension-in-2-of-the-last-4-sessions",
    ),
    pytest.param(
        Pattern("R-05", "high", ["B", "C"], [(SESSION, 1, {"neck_symptoms": "pain_into_arm", "neck_level": 6})], [0]),
        id="R-05-pain-into-the-arm-is-high",
    ),
    pytest.param(
        Pattern(
            "R-06",
            "high",
            ["B"],
            [(SESSION, 2, {"back_pain_during_max": 6}), (SESSION, 1, {"back_pain_during_max": 7})],
            [0, 1],
        ),
        id="R-06-worst-pain-during-workout-6-twice",
    ),
    pytest.param(
        Pattern("R-06", "high", ["D"], [(SESSION, 1, {}), (WEEKLY, 1, {"flare_7d": True})], [1]),
        id="R-06-flare-on-the-weekly",
    ),
    pytest.param(
        Pattern(
            "R-08",
            "routine",
            ["A"],
            [
                (SESSION, 1, {}),
                (WEEKLY, 22, {"psfs_1": 8, "psfs_2": 8, "psfs_3": 8}),
                (WEEKLY, 15, {"psfs_1": 8, "psfs_2": 8, "psfs_3": 8}),
                (WEEKLY, 8, {"psfs_1": 6, "psfs_2": 6, "psfs_3": 6}),
                (WEEKLY, 1, {"psfs_1": 6, "psfs_2": 6, "psfs_3": 6}),
            ],
            [3, 4],
            days_in_phase=30,
        ),
        id="R-08-psfs-2-below-the-phase-best-on-2-weeklies",
    ),
    pytest.param(
        Pattern(
            "R-10",
            "routine",
            ["A"],
            [(SESSION, 1, {})] + [(WEEKLY, d, LONG_EASING_MORNING_STIFFNESS) for d in (15, 8, 1)],
            [1, 2, 3],
        ),
        id="R-10-long-morning-stiffness-easing-with-movement",
    ),
    pytest.param(
        Pattern("R-11", "routine", ["A"], [(SESSION, 8, {}), (WEEKLY, 1, {})], []),
        id="R-11-no-session-for-7-days",
    ),
]


def submit(patient: Any, steps: list[tuple[str, float, dict[str, Any]]]) -> list[Entry]:
    return [
        (submit_session if kind == SESSION else submit_weekly)(patient, days_ago, **answers)
        for kind, days_ago, answers in steps
    ]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_each_pattern_raises_its_alert_with_evidence_version_and_thresholds(
    world: Any, clock: Any, pattern: Pattern
) -> None:
    patient = enrolled_patient(world.therapist, phase=pattern.phase, days_in_phase=pattern.days_in_phase)
    entries = submit(patient, pattern.steps)
    clock.shift(dt.timedelta(minutes=11))  # R-11 is judged once the burst of submissions is over

    report = scan(patient)

    assert report.created == 1
    assert rules_raised(patient) == [pattern.rule_id]
    alert = Alert.objects.get(patient=patient)
    assert alert.qualifier == pattern.qualifier.format(*[e.pk for e in entries])
    assert alert.severity == pattern.severity
    assert alert.criteria == pattern.criteria
    assert evidence_ids(alert) == [entries[i].pk for i in pattern.evidence]
    assert alert.ruleset_version == rules.RULESET_VERSION == 2
    assert alert.thresholds == rules.DEFAULT_PARAMS.to_dict()
    assert (alert.rule_slug, alert.title) == (rules.RULES[pattern.rule_id].slug, rules.RULES[pattern.rule_id].title)
    assert alert.therapist == patient.therapist
    assert alert.status == Alert.Status.OPEN
    assert alert.values
    assert alert.rationale.startswith(rules.RULES[pattern.rule_id].rationale[:20])


def test_quiet_entries_raise_nothing_and_are_marked_scanned(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    entries = [submit_session(patient, 3), submit_session(patient, 1), submit_weekly(patient, 1)]
    assert not Entry.objects.filter(scanned_at__isnull=False).exists()

    report = scan(patient)

    assert (report.patients, report.findings, report.created) == (1, 0, 0)
    assert not Alert.objects.exists()
    assert {e.scanned_at for e in Entry.objects.filter(pk__in=[e.pk for e in entries])} == {NOW}


def test_scanning_twice_creates_no_duplicate_and_changes_nothing(world: Any, clock: Any) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 3, **STIFFER)
    submit_session(patient, 2, neck_symptoms="tension", neck_level=3, **STIFFER)
    submit_session(patient, 1, neck_symptoms="tension", neck_level=3, safety_screen=["bladder_change"])
    first = scan(patient)
    alerts = list(Alert.objects.order_by("pk").values())
    emails = list(OutgoingEmail.objects.order_by("pk").values_list("key", flat=True))
    scanned = list(Entry.objects.order_by("pk").values_list("scanned_at", flat=True))
    # Stiffening and neck strain during stabilization: R-07 too.
    assert sorted(a["rule_id"] for a in alerts) == ["R-01", "R-03", "R-05", "R-07"]
    assert first.created == 4

    clock.shift(dt.timedelta(hours=1))
    second = scan(patient)

    # Nothing new to judge as of an entry; R-11 (as of now) finds nothing either.
    assert (second.findings, second.created, second.updated, second.emails) == (0, 0, 0, [])
    assert list(Alert.objects.order_by("pk").values()) == alerts
    assert list(OutgoingEmail.objects.order_by("pk").values_list("key", flat=True)) == emails
    assert list(Entry.objects.order_by("pk").values_list("scanned_at", flat=True)) == scanned


def test_a_new_qualifying_entry_attaches_to_the_open_alert_as_evidence(world: Any, clock: Any) -> None:
    patient = enrolled_patient(world.therapist)
    first = [submit_session(patient, 2, **STIFFER), submit_session(patient, 1, **STIFFER)]
    scan(patient)
    alert = Alert.objects.get(patient=patient)

    clock.shift(dt.timedelta(hours=2))
    later = submit_session(patient, 0, **STIFFER)
    report = scan(patient)

    assert (report.created, report.updated) == (0, 1)
    assert Alert.objects.filter(patient=patient).count() == 1
    alert.refresh_from_db()
    assert evidence_ids(alert) == [first[0].pk, first[1].pk, later.pk]
    assert alert.last_evidence_at == later.occurred_at
    assert alert.status == Alert.Status.OPEN


def test_after_resolution_only_entries_dated_after_it_open_a_new_alert(world: Any, clock: Any) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 2, **STIFFER)
    submit_session(patient, 1, **STIFFER)
    scan(patient)
    resolved = alert_resolve(alert=Alert.objects.get(patient=patient), by=world.therapist.user, note="Load reduced")

    # The old evidence does not re-open it; nor does a late entry from the paper diary dated before the resolution.
    clock.shift(dt.timedelta(hours=1))
    submit_session(patient, 0.5, **STIFFER)
    assert scan(patient).created == 0
    clock.shift(dt.timedelta(hours=1))
    after_one = submit_session(patient, 0, **STIFFER)
    assert scan(patient).created == 0  # one stiffer session after the resolution is not a pattern yet
    clock.shift(dt.timedelta(days=1))
    after_two = submit_session(patient, 0, **STIFFER)
    report = scan(patient)

    assert report.created == 1
    new = Alert.objects.get(patient=patient, status=Alert.Status.OPEN)
    assert new.pk != resolved.pk
    assert evidence_ids(new) == [after_one.pk, after_two.pk]
    assert all(e.occurred_at > resolved.resolved_at for e in Entry.objects.filter(pk__in=evidence_ids(new)))
    assert Alert.objects.filter(patient=patient, rule_id="R-03").count() == 2


def test_every_red_flag_entry_raises_its_own_urgent_alert(world: Any) -> None:
    patient = enrolled_patient(world.therapist)
    one = submit_session(patient, 2, safety_screen=["saddle_numbness"])
    two = submit_session(patient, 1, safety_screen=["bowel_change", "both_legs_numb_or_weak"])

    scan(patient)
    scan(patient)

    alerts = list(Alert.objects.filter(patient=patient).order_by("pk"))
    assert [(a.rule_id, a.qualifier, a.severity) for a in alerts] == [
        ("R-01", f"entry:{one.pk}", "urgent"),
        ("R-01", f"entry:{two.pk}", "urgent"),
    ]
    assert [evidence_ids(a) for a in alerts] == [[one.pk], [two.pk]]
    assert alerts[1].values["items"] == ["bowel_change", "both_legs_numb_or_weak"]


def test_phase_review_fires_from_the_alerts_of_r03_to_r06_during_stabilization(world: Any, clock: Any) -> None:
    patient = enrolled_patient(world.therapist, phase=Phase.STABILIZATION)
    submit_session(patient, 5, neck_symptoms="tension", neck_level=3)
    submit_session(patient, 4, neck_symptoms="tension", neck_level=3)
    scan(patient)
    # The neck alert is dealt with: its entries no longer fire R-05, but the alert stays in the phase's history.
    alert_resolve(alert=Alert.objects.get(patient=patient, rule_id="R-05"), by=world.therapist.user, note="Cued")
    clock.shift(dt.timedelta(hours=1))
    submit_session(patient, 0.1, **STIFFER)
    submit_session(patient, 0, **STIFFER)

    scan(patient)

    assert rules_raised(patient) == ["R-03", "R-05", "R-07"]
    review = Alert.objects.get(patient=patient, rule_id="R-07")
    assert review.values["rules"] == ["R-03", "R-05"]
    assert review.severity == "high"


def test_phase_review_does_not_fire_in_the_treatment_phase(world: Any) -> None:
    patient = enrolled_patient(world.therapist, phase=Phase.TREATMENT)
    submit_session(patient, 2, neck_symptoms="tension", neck_level=3, **STIFFER)
    submit_session(patient, 1, neck_symptoms="tension", neck_level=3, **STIFFER)

    scan(patient)

    assert rules_raised(patient) == ["R-03", "R-05"]


def test_a_scan_that_loses_the_race_to_another_worker_joins_its_alert(
    world: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 2, **STIFFER)
    submit_session(patient, 1, **STIFFER)
    load_windows = scanning.load_windows

    def load_then_lose_the_race(patient_ids: list[int], **kwargs: Any) -> Any:
        windows = load_windows(patient_ids, **kwargs)
        monkeypatch.setattr(scanning, "load_windows", load_windows)
        scan_patients(patient_ids)  # another worker raises the alert between our read and our insert
        return windows

    monkeypatch.setattr(scanning, "load_windows", load_then_lose_the_race)
    with caplog.at_level(logging.WARNING, logger="assessments.scanning"):
        report = scan(patient)

    # The batch's write met the other worker's alert and was rolled back; the patient alone then joined it.
    assert "writing a batch's new alerts at once failed (1 patients)" in caplog.text
    assert (report.findings, report.created, report.failed, report.emails) == (1, 0, [], [])
    assert rules_raised(patient) == ["R-03"]
    assert OutgoingEmail.objects.count() == 1


def test_the_daily_evaluation_raises_time_based_alerts_for_enrolled_patients(world: Any, clock: Any) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 1)
    submit_weekly(patient, 1)
    scan(patient)
    clock.shift(dt.timedelta(days=7))
    assert sweep_unscanned() == {"patients": 0}  # nothing new was submitted ...

    result = evaluate_enrolled()

    assert result["failed"] == 0
    assert rules_raised(patient) == ["R-11"]  # ... but a week without a session is a finding
    assert Alert.objects.get(patient=patient).values["A"]["days_without_session"] == 8


# --- batches: constant queries, failures isolated -------------------------------------------------


def reads(queries: CaptureQueriesContext) -> list[str]:
    """The statements of a scan without the savepoints of the per-patient transactions.

    The test runs inside a transaction, so each patient's ``atomic()`` adds a SAVEPOINT and a RELEASE
    that do not exist in production (outside a transaction, an empty ``atomic()`` sends nothing).
    """
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"].upper()]


def test_a_batch_scan_reads_in_the_same_number_of_queries_for_2_and_20_patients(world: Any) -> None:
    patients = [enrolled_patient(world.therapist) for _ in range(20)]
    for patient in patients:
        submit_session(patient, 2)
        submit_session(patient, 1, **STIFFER)
    scan(*patients)  # everything read once; nothing new to find below
    ids = [p.pk for p in patients]

    with CaptureQueriesContext(connection) as two:
        scan_patients(ids[:2])
    with CaptureQueriesContext(connection) as twenty:
        scan_patients(ids)

    # The ruleset, then patients, enrollments, progressions, entries, red-flag reports, outcome scores, alerts
    # and safety-screen reviews: one query each.
    assert len(reads(two)) == len(reads(twenty)) == 9


def test_a_batch_scan_marks_new_entries_in_the_same_number_of_queries_for_2_and_20_patients(world: Any) -> None:
    patients = [enrolled_patient(world.therapist) for _ in range(20)]
    ids = [p.pk for p in patients]
    for patient in patients:
        submit_session(patient, 1)

    with CaptureQueriesContext(connection) as two:
        scan_patients(ids[:2])
    for patient in patients:
        submit_session(patient, 0)
    with CaptureQueriesContext(connection) as twenty:
        scan_patients(ids)

    # The nine reads and one UPDATE marking every entry read as scanned.
    assert len(reads(two)) == len(reads(twenty)) == 10
    assert not Entry.objects.unscanned().exists()


def test_a_backlog_scan_writes_each_alert_once_and_reads_nothing_per_alert(world: Any) -> None:
    """A backlog judged entry by entry: the alert raised at one entry gains the evidence of the next ones in
    memory and is written once (its INSERT, at most one UPDATE), and its email reads no therapist or user."""
    counts = []
    for size in (2, 6):
        patients = [enrolled_patient(world.therapist) for _ in range(size)]
        for patient in patients:
            for days_ago in (4, 3, 2, 1, 0):
                submit_session(patient, days_ago, **STIFFER)  # stiffer after every session: R-03 (A) from the 2nd
        with CaptureQueriesContext(connection) as queries:
            report = scan(*patients)
        statements = reads(queries)
        alerts = Alert.objects.filter(patient__in=patients)
        assert report.created == size
        assert len(evidence_ids(alerts.first())) == 5  # every stiffer session, attached as it came
        updates = [q for q in statements if q.startswith('UPDATE "assessments_alert"')]
        # The ids of the new alerts are taken in one statement (PostgreSQL), the rest are the batch's reads.
        counts.append(sum(q.startswith("SELECT") and "nextval(" not in q for q in statements))
        assert sum("nextval(" in q for q in statements) == (connection.vendor == "postgresql")
        assert len(updates) <= size  # not one per entry judged
    assert counts == [9, 9]


def test_an_alert_another_worker_raised_meanwhile_keeps_every_change_of_the_backlog(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker commits the same alert between this scan's read and its insert: the scan joins it, and
    each later judgment of the backlog builds on what the earlier ones added (nothing lost at the single save)."""
    from assessments import scanning

    patient = enrolled_patient(world.therapist)
    entries = [submit_session(patient, days_ago, **STIFFER) for days_ago in (4, 3, 2, 1, 0)]
    real_load = scanning.load_windows

    def load_then_race(*args: Any, **kwargs: Any) -> Any:
        windows = real_load(*args, **kwargs)
        AlertFactory(patient=patient, rule_id="R-03", qualifier="", criteria=["A"], evidence=[])
        return windows

    monkeypatch.setattr(scanning, "load_windows", load_then_race)
    report = scan(patient)

    alert = Alert.objects.get(patient=patient)  # one alert: joined, not duplicated
    assert report.created == 0
    assert evidence_ids(alert) == [e.pk for e in entries[:5]]  # every stiffer session, none lost


def inserts(queries: CaptureQueriesContext, table: str) -> list[str]:
    """The statements that write new rows into ``table``: INSERTs, or COPY (PostgreSQL, ``clinic.db.insert_many``)."""
    return [q for q in reads(queries) if q.startswith((f'INSERT INTO "{table}"', f'COPY "{table}"'))]


def immediate_keys(*patients: Any) -> set[str]:
    return {f"alert:{pk}:immediate" for pk in Alert.objects.filter(patient__in=patients).values_list("pk", flat=True)}


def stiff_with_a_red_flag(patient: Any) -> None:
    """R-03 (high) and R-01 (urgent): both emailed at once (the clinic emails high alerts immediately)."""
    submit_session(patient, 2, **STIFFER)
    submit_session(patient, 1, safety_screen=["saddle_numbness"], **STIFFER)


def test_a_batch_writes_its_new_alerts_and_their_emails_in_one_insert_each_for_2_and_12_patients(
    world: Any,
) -> None:
    assert world.clinic.email_high_immediately
    counts = []
    for size in (2, 12):  # 24 alerts: within what SQLite takes in one statement (999 parameters)
        patients = [enrolled_patient(world.therapist) for _ in range(size)]
        for patient in patients:
            stiff_with_a_red_flag(patient)

        with CaptureQueriesContext(connection) as queries:
            report = scan(*patients)

        assert (report.created, report.failed) == (2 * size, [])
        assert all(rules_raised(patient) == ["R-01", "R-03"] for patient in patients)
        emails = OutgoingEmail.objects.filter(pk__in=report.emails)
        assert set(emails.values_list("key", flat=True)) == immediate_keys(*patients)
        # Queued naming their alerts, to the therapist; the bodies are written when sent.
        assert {(e.to, e.body_text) for e in emails} == {(world.therapist.user.email, "")}
        assert {e.alert_id for e in emails} == set(
            Alert.objects.filter(patient__in=patients).values_list("pk", flat=True)
        )
        alerts = Alert.objects.filter(patient__in=patients)
        assert {(a.severity, a.severity_rank) for a in alerts} == {("urgent", 0), ("high", 1)}
        counts.append((len(inserts(queries, "assessments_alert")), len(inserts(queries, "assessments_outgoingemail"))))
    assert counts == [(1, 1), (1, 1)]


def test_a_patient_with_an_open_alert_is_written_in_its_own_transaction_beside_the_batch(world: Any) -> None:
    known, new = enrolled_patient(world.therapist), enrolled_patient(world.therapist)
    first = [submit_session(known, days_ago, **STIFFER) for days_ago in (3, 2)]
    scan(known)
    later = submit_session(known, 1, **STIFFER)
    stiff_with_a_red_flag(new)

    report = scan(known, new)

    assert (report.created, report.updated, report.failed) == (2, 1, [])
    assert evidence_ids(Alert.objects.get(patient=known)) == [e.pk for e in [*first, later]]
    assert rules_raised(new) == ["R-01", "R-03"]
    assert set(OutgoingEmail.objects.filter(pk__in=report.emails).values_list("key", flat=True)) == immediate_keys(new)
    assert not Entry.objects.unscanned().exists()


def test_a_batch_write_that_fails_leaves_nothing_and_each_patient_is_written_once_on_its_own(
    world: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The database refuses the batch's write after its alerts went in (here a lost connection to the outbox
    table): the whole write is rolled back, and every patient is written again in its own transaction."""
    from django.db import OperationalError

    patients = [enrolled_patient(world.therapist) for _ in range(3)]
    for patient in patients:
        stiff_with_a_red_flag(patient)
    real_bulk_create = OutgoingEmail.objects.bulk_create
    calls = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[0]))
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(OutgoingEmail.objects, "bulk_create", refuse)
    with caplog.at_level(logging.WARNING, logger="assessments.scanning"):
        report = scan(*patients)
    monkeypatch.setattr(OutgoingEmail.objects, "bulk_create", real_bulk_create)

    assert calls == [6]  # the batch's six emails were refused together
    assert (report.created, report.failed) == (6, [])
    assert all(rules_raised(patient) == ["R-01", "R-03"] for patient in patients)  # each alert once
    assert sorted(OutgoingEmail.objects.values_list("pk", flat=True)) == sorted(report.emails)
    assert set(OutgoingEmail.objects.values_list("key", flat=True)) == immediate_keys(*patients)
    assert "writing a batch's new alerts at once failed (3 patients); scanning them one by one" in caplog.text
    assert not Entry.objects.unscanned().exists()


@pytest.fixture
def failing_for(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the rules engine raise for the given patients' entries (a bug in a rule, bad data)."""
    failing: set[int] = set()

    def crashing(judge: Any) -> Any:
        def flaky(p: Any, found: Any) -> Any:
            if any(e.id in failing for e in [*p.ctx.post_workouts, *p.ctx.weeklies]):
                raise RuntimeError("rule crashed")
            return judge(p, found)

        return flaky

    # Every judge but the red flags' (R-01, R-02) crashes for these patients. A rule is only judged where the
    # screen lets it through, so the tests give these patients something a rule reads (neck tension: R-05).
    judges = tuple(
        (rule_id, judge if rule_id in RED_FLAG_RULES else crashing(judge)) for rule_id, judge in engine._JUDGES
    )
    monkeypatch.setattr(engine, "_JUDGES", judges)

    def fail(patient: Any) -> None:
        failing.update(Entry.objects.filter(patient=patient).values_list("pk", flat=True))

    return fail


NECK_TENSION = {"neck_symptoms": "tension", "neck_level": 2}


def test_a_failing_patient_is_counted_and_the_others_are_still_scanned(
    world: Any, failing_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    broken, fine = enrolled_patient(world.therapist), enrolled_patient(world.therapist)
    broken_entry = submit_session(broken, 1, safety_screen=["saddle_numbness"], **NECK_TENSION)
    fine_entry = submit_session(fine, 1, safety_screen=["saddle_numbness"])
    failing_for(broken)

    with caplog.at_level(logging.ERROR, logger="assessments.scanning"):
        report = scan(broken, fine)

    assert report.failed == [broken.pk]
    assert report.patients == 2
    broken_entry.refresh_from_db()
    fine_entry.refresh_from_db()
    assert (broken_entry.scanned_at, broken_entry.scan_failures) == (None, 1)
    assert (fine_entry.scanned_at, fine_entry.scan_failures) == (NOW, 0)
    # A failing rule never silences a red flag: R-01 is still raised (and emailed) for the broken patient.
    assert rules_raised(broken) == ["R-01"]
    assert rules_raised(fine) == ["R-01"]
    assert f"rules failed for patient id={broken.pk}" in caplog.text
    assert broken.first_name not in caplog.text


def test_a_failing_rule_screen_is_logged_and_every_rule_is_judged_instead(
    world: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    patient = enrolled_patient(world.therapist)
    submit_session(patient, 2, **STIFFER)
    submit_session(patient, 1, **STIFFER)

    def broken(*args: Any) -> bool:
        raise RuntimeError("screen crashed")

    monkeypatch.setattr(screening, "_r05", broken)
    with caplog.at_level(logging.ERROR, logger="assessments.scanning"):
        report = scan(patient)

    assert report.failed == []
    assert rules_raised(patient) == ["R-03"]
    assert f"rule screen failed for patient id={patient.pk}" in caplog.text


def test_unscanned_patient_ids_leaves_out_entries_given_up_on_and_fresh_ones(
    world: Any, failing_for: Any, clock: Any
) -> None:
    broken, waiting, fresh = (enrolled_patient(world.therapist) for _ in range(3))
    submit_session(broken, 1, **NECK_TENSION)
    submit_session(waiting, 1)
    failing_for(broken)
    for _ in range(MAX_SCAN_FAILURES - 1):
        scan(broken)
    cutoff = timezone.now()
    assert unscanned_patient_ids(older_than=cutoff, limit=10) == [broken.pk, waiting.pk]

    scan(broken)  # the last failure: given up, left for a person to look at
    clock.shift(dt.timedelta(minutes=5))
    submit_session(fresh, 0)  # submitted after the cutoff: the task enqueued on commit handles it

    assert Entry.objects.get(patient=broken).scan_failures == MAX_SCAN_FAILURES
    assert unscanned_patient_ids(older_than=cutoff, limit=10) == [waiting.pk]
    assert unscanned_patient_ids(older_than=timezone.now(), limit=10) == [waiting.pk, fresh.pk]
    assert unscanned_patient_ids(older_than=timezone.now(), limit=1) == [waiting.pk]


# --- thresholds ------------------------------------------------------------------------------------


def test_an_active_ruleset_changes_the_outcome_and_is_stored_on_the_alert(world: Any) -> None:
    default_patient, tuned_patient = enrolled_patient(world.therapist), enrolled_patient(world.therapist)
    for patient in (default_patient, tuned_patient):
        submit_session(patient, 2)
        submit_session(patient, 1, **STIFFER)
    scan(default_patient)
    assert rules_raised(default_patient) == []  # one stiffer session of three is not a pattern by default

    RuleSet.objects.filter(is_active=True).update(params={"r03_stiffer_count": 1})
    scan(tuned_patient)

    alert = Alert.objects.get(patient=tuned_patient)
    assert alert.rule_id == "R-03"
    assert alert.ruleset_version == 2
    assert alert.thresholds["r03_stiffer_count"] == 1
    assert alert.thresholds["r03_window_days"] == 14  # the defaults fill in the rest


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"r03_stiffer_count": 0}, "r03_stiffer_count: must be at least 1"),
        ({"r03_stiffer_count": 4}, "r03_stiffer_count: must not exceed r03_stiffer_of_last"),
        ({"no_such_threshold": 3}, "no_such_threshold: unknown parameter"),
        ({"r05_level_once": "5"}, "r05_level_once: must be an integer"),
        ({"r10_min_duration": "forever"}, "r10_min_duration: must be one of"),
        (["r03_stiffer_count", 2], "Give the thresholds as a JSON object."),
    ],
)
def test_ruleset_clean_rejects_invalid_params(db: None, params: Any, message: str) -> None:
    ruleset = RuleSet(name="core-trial", version=2, params=params)

    with pytest.raises(ValidationError) as caught:
        ruleset.full_clean()

    assert list(caught.value.message_dict) == ["params"]
    assert message in caught.value.message_dict["params"][0]


def test_ruleset_clean_accepts_valid_overrides_for_the_version_they_belong_to(db: None) -> None:
    RuleSet(name="core-trial", version=2, params={"r03_stiffer_count": 3, "r05_tension_level_once": 8}).full_clean()
    RuleSet(name="core-trial", version=1, params={"r06_relative_fraction": 0.25}).full_clean()
    with pytest.raises(ValidationError) as caught:
        RuleSet(name="core-trial", version=2, params={"r06_relative_fraction": 0.25}).full_clean()
    assert "r06_relative_fraction: unknown parameter" in caught.value.message_dict["params"][0]


def test_ruleset_versions_are_built_in(db: None) -> None:
    with pytest.raises(ValidationError) as caught:
        RuleSet(name="core-trial", version=3, params={}).full_clean()

    assert caught.value.message_dict["version"] == ["Ruleset versions are built in: v1, v2."]


# --- the broker is down at submit --------------------------------------------------------------------


@pytest.fixture
def broker_down() -> Any:
    """Point the Celery app at a port where no broker listens, and restore it afterwards."""
    from clinic.celery import app

    def reset_pools() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    saved = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    reset_pools()
    yield
    app.conf.broker_url = saved
    reset_pools()


def test_submit_succeeds_while_the_broker_is_down_and_the_sweep_scans_the_entry_later(
    world: Any, clock: Any, broker_down: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=world.patient.user)[1]}")
    answers = {
        "session_completed": "stopped_symptoms",
        "back_pain_now": 5,
        "back_pain_during_max": 6,
        "back_stiffness_now": 4,
        "stiffness_change": "same",
        "spine_check": "not_done",
        "neck_symptoms": "none",
        "thigh_symptoms": "none",
        "safety_screen": ["saddle_numbness"],
    }

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/api/v1/assessments/", {"kind": "post_workout", "answers": answers}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["advice"][0]["level"] == "urgent"
    assert len(callbacks) == 1  # the scan was asked for, and could not be published
    entry = Entry.objects.get(pk=response.json()["id"])
    assert entry.scanned_at is None
    assert not Alert.objects.exists()

    clock.shift(dt.timedelta(minutes=1))
    result = sweep_unscanned()

    assert result["patients"] == 1
    entry.refresh_from_db()
    assert entry.scanned_at is not None
    alert = Alert.objects.get(patient=world.patient, rule_id="R-01")
    assert (alert.qualifier, alert.severity, evidence_ids(alert)) == (f"entry:{entry.pk}", "urgent", [entry.pk])


def test_the_sweep_leaves_entries_submitted_moments_ago_to_their_own_task(world: Any) -> None:
    submit_session(world.patient, 0, safety_screen=["saddle_numbness"])

    assert sweep_unscanned() == {"patients": 0}
    assert Entry.objects.get().scanned_at is None
