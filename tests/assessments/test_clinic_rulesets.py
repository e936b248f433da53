"""Each clinic owns its rulesets (issue 9, item 2): a threshold change affects only that clinic.

A clinic administrator copies the built-in version, edits the thresholds in a typed form, sees the dry run over
the clinic's last 90 days and activates the copy (audited); the clinic's patients are then judged with it, and
every alert records the ruleset it was judged with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.utils import timezone
from rest_framework.test import APIClient

from assessments import rules
from assessments.demo import history_create
from assessments.loader import lookback
from assessments.models import Alert, Entry, RuleSet
from assessments.scanning import scan_patients
from patients.models import Patient
from programs.models import Phase
from tests.assessments.helpers import enrolled_patient, evidence_ids, submit_session
from tests.factories import EnrollmentFactory, PatientFactory, TherapistFactory
from tests.patients.helpers import changeform_data, listed

RULESETS = "/admin/assessments/ruleset/"


def built_in() -> RuleSet:
    """The active built-in version (made by a migration; made again here after a transactional test's flush)."""
    ruleset, _ = RuleSet.objects.get_or_create(
        clinic=None, name=rules.RULESET, is_active=True, defaults={"version": rules.LATEST_VERSION}
    )
    return ruleset


def neck_strain_patient(therapist: Any) -> Patient:
    """A patient whose history raises R-05 (neck strain during core work) under the built-in thresholds."""
    patient: Patient = PatientFactory(therapist=therapist)
    since = dt.date.today() - dt.timedelta(days=24)
    enrollment = EnrollmentFactory(patient=patient, phase=Phase.STABILIZATION, phase_since=since,
                                   started_on=since - dt.timedelta(days=42))  # fmt: skip
    history_create(patient=patient, enrollment=enrollment, pattern="neck_strain")
    return patient


@pytest.fixture
def copy(client: Any, world: Any) -> RuleSet:
    """Riverside's own copy of the active built-in version, made by its administrator."""
    client.force_login(world.clinic_admin.user)
    response = client.post(RULESETS, {"action": "copy_for_my_clinic", "_selected_action": [built_in().pk]})
    assert response.status_code == 302
    ruleset: RuleSet = RuleSet.objects.get(clinic=world.clinic)
    return ruleset


def test_the_built_in_version_is_read_only_and_a_copy_is_the_clinics(client: Any, world: Any, copy: RuleSet) -> None:
    assert (copy.version, copy.params, copy.is_active) == (built_in().version, {}, False)
    page = client.get(f"{RULESETS}{built_in().pk}/change/")
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert {r.pk for r in listed(client.get(RULESETS))} >= {built_in().pk, copy.pk}

    client.force_login(world.outsider.user)  # another clinic: its therapist has no ruleset pages at all
    assert client.get(f"{RULESETS}{copy.pk}/change/").status_code in (403, 404)


def test_another_clinics_copy_is_a_404_to_its_administrator(client: Any, world: Any, copy: RuleSet) -> None:
    hilltop_admin = TherapistFactory(clinic=world.other_clinic, is_clinic_admin=True)
    client.force_login(hilltop_admin.user)

    assert client.get(f"{RULESETS}{copy.pk}/change/").status_code == 404
    assert client.get(f"{RULESETS}{copy.pk}/activate/").status_code == 404
    assert copy.pk not in {r.pk for r in listed(client.get(RULESETS))}


def test_thresholds_are_edited_in_a_typed_form_with_per_field_errors(client: Any, world: Any, copy: RuleSet) -> None:
    page = client.get(f"{RULESETS}{copy.pk}/change/")
    form = page.context["adminform"].form
    window = form.fields["t_r03_window_days"]
    assert (window.min_value, window.initial) == (1, built_in_default("r03_window_days"))
    assert "Default:" in window.help_text

    refused = client.post(f"{RULESETS}{copy.pk}/change/", changeform_data(page, t_r03_window_days="0"))
    assert refused.status_code == 200
    assert "t_r03_window_days" in refused.context["adminform"].form.errors
    copy.refresh_from_db()
    assert copy.params == {}

    saved = client.post(f"{RULESETS}{copy.pk}/change/", changeform_data(page, t_r03_window_days="10", t_r05_enabled=""))
    assert saved.status_code == 302
    copy.refresh_from_db()
    assert copy.params == {"r03_window_days": 10, "r05_enabled": False}
    assert built_in().params == {}


def built_in_default(name: str) -> Any:
    return getattr(rules.RULESETS[built_in().version].default_params, name)


def test_a_clinics_threshold_change_affects_only_that_clinic(client: Any, world: Any, copy: RuleSet) -> None:
    ours, theirs = neck_strain_patient(world.therapist), neck_strain_patient(world.outsider)
    page = client.get(f"{RULESETS}{copy.pk}/change/")
    assert client.post(f"{RULESETS}{copy.pk}/change/", changeform_data(page, t_r05_enabled="")).status_code == 302

    dry_run = client.get(f"{RULESETS}{copy.pk}/activate/")
    assert dry_run.status_code == 200
    changes = {c.rule_id: (c.added, c.removed) for c in dry_run.context["changes"]}
    assert changes["R-05"] == (0, 1)  # Riverside's neck-strain patient would no longer be alerted
    assert not Alert.objects.exists()  # the dry run writes nothing
    assert client.post(f"{RULESETS}{copy.pk}/activate/").status_code == 302

    copy.refresh_from_db()
    assert copy.is_active
    activation = LogEntry.objects.get_for_object(copy).filter(changes__has_key="is_active").first()
    assert activation is not None
    assert activation.actor == world.clinic_admin.user

    scan_patients([ours.pk, theirs.pk])

    assert not Alert.objects.filter(patient=ours, rule_id="R-05").exists()
    alert = Alert.objects.get(patient=theirs, rule_id="R-05")
    assert alert.ruleset == built_in()  # Hilltop still judged with the built-in version
    assert all(a.ruleset == copy for a in Alert.objects.filter(patient=ours))
    # And as each clinic's therapists read their alerts through the API.
    seen = {}
    for therapist in (world.therapist, world.outsider):
        api = APIClient()
        api.force_authenticate(therapist.user)
        seen[therapist.pk] = {(a["rule_id"], a["caseload_ref"]) for a in api.get("/api/v1/alerts/").json()["results"]}
    assert ("R-05", ours.caseload_ref) not in seen[world.therapist.pk]
    assert ("R-05", theirs.caseload_ref) in seen[world.outsider.pk]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"t_r03_mean_delta": "0"}, "t_r03_mean_delta"),  # must be greater than 0
        ({"t_r03_mean_delta": "-1"}, "t_r03_mean_delta"),
        ({"t_r05_count": "99", "t_r05_of_last": "3"}, None),  # thresholds that contradict each other
    ],
)
def test_refused_thresholds_are_form_errors_not_a_crash(
    client: Any, world: Any, copy: RuleSet, changes: dict[str, str], field: str | None
) -> None:
    page = client.get(f"{RULESETS}{copy.pk}/change/")

    response = client.post(f"{RULESETS}{copy.pk}/change/", changeform_data(page, **changes))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert (field in errors) if field else errors
    copy.refresh_from_db()
    assert copy.params == {}


def test_a_clinics_longer_window_is_read_whole_by_the_scan(world: Any, copy: RuleSet) -> None:
    """The scan reads as far back as the clinic's own thresholds reach, not only as far as the defaults do."""
    copy.params = {"r03_restricted_window_days": 120}
    copy.is_active = True
    copy.save()
    patient = enrolled_patient(world.therapist, days_in_phase=10)
    old = submit_session(patient, spine_check="clearly_restricted")
    # A session 100 days ago, already scanned: beyond the 72 days the default thresholds read.
    Entry.objects.filter(pk=old.pk).update(
        occurred_at=timezone.now() - dt.timedelta(days=100), scanned_at=timezone.now()
    )
    new = submit_session(patient, spine_check="clearly_restricted")

    scan_patients([patient.pk])

    alert = Alert.objects.get(patient=patient, rule_id="R-03")
    assert alert.criteria == ["C"]
    assert sorted(evidence_ids(alert)) == sorted([old.pk, new.pk])
    assert alert.ruleset == copy


@pytest.mark.parametrize(
    ("version", "overrides", "days"),
    [
        (2, {}, 72),  # the defaults: R-03 E's 6 blocks of 7 days, plus 30 days of a late diary
        (2, {"r05_window_days": 100}, 130),
        (2, {"r04_alternating_days": 60}, 118),  # each day of R-04's alternating window reads R-04's own 28 days
        (2, {"r06_progression_window_days": 300, "r11_high_lookback_days": 300}, 72),  # not windows of entries
        (2, {"r03_block_days": 300, "r03_max_blocks": 52}, 395),  # at most a year of window
        (1, {"r05_window_days": 100}, 130),  # a v1 clinic's longer window is read whole too
    ],
)
def test_how_far_back_a_scan_reads_follows_the_thresholds(version: int, overrides: dict[str, int], days: int) -> None:
    assert lookback(rules.params_for(version, overrides)) == dt.timedelta(days=days)
