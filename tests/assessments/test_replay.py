"""``manage.py replay_rules``: what a ruleset would have raised over stored history, writing nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from assessments.models import Alert, Entry, OutgoingEmail
from patients.models import Patient, Therapist
from programs.models import Phase, PhaseTransition
from tests.assessments.helpers import TODAY, enrolled_patient, submit_session, submit_weekly
from tests.factories import ClinicFactory, TherapistFactory

DEMO_CLINIC = "Riverside Back Clinic"
TWO_WEEKS_AGO = (TODAY - dt.timedelta(days=14)).isoformat()
PATTERN_RULES = {
    "Maria": {"R-03": 1},
    "Tom": {"R-04": 1},
    "Aisha": {"R-05": 1},
    "Lena": {"R-06": 1},
    "Omar": {"R-01": 1},
}


@pytest.fixture
def demo(db: None) -> None:
    call_command("seed_demo", "--quiet-logins", stdout=StringIO())


def replay(*args: str) -> str:
    out = StringIO()
    call_command("replay_rules", "--no-progress", *args, stdout=out)
    return out.getvalue()


def per_rule(output: str) -> dict[str, int]:
    section = output.split("Per rule:")[1].split("Per patient")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^\s+(R-\d\d) \w+\s+(\d+)$", section, re.MULTILINE)}


def per_patient(output: str) -> dict[str, dict[str, int]]:
    """Per patient first name (the report itself only shows caseload references) -> rule -> count."""
    names = dict(Patient.objects.values_list("caseload_ref", "first_name"))
    section = output.split("Per patient (caseload reference):")[1]
    rows = re.findall(r"^\s+(CR-\w+): (.+)$", section, re.MULTILINE)
    return {names[ref]: {rule: int(n) for rule, n in re.findall(r"(R-\d\d) x(\d+)", counts)} for ref, counts in rows}


def test_replay_reports_per_rule_and_per_patient_and_writes_nothing(demo: None) -> None:
    entries = Entry.objects.count()
    assert entries
    assert not Alert.objects.exists()
    assert not OutgoingEmail.objects.exists()

    output = replay("--since", TWO_WEEKS_AGO)

    assert f"Replay since {TWO_WEEKS_AGO} over 7 patient(s) with the active ruleset v2; nothing was written." in output
    assert "Alerts that would be raised: 5" in output
    assert per_rule(output) == {
        "R-01": 1, "R-02": 0, "R-03": 1, "R-04": 1, "R-05": 1, "R-06": 1, "R-07": 0, "R-08": 0, "R-10": 0, "R-11": 0,
        "R-12": 0,
    }  # fmt: skip
    assert per_patient(output) == PATTERN_RULES  # the quiet patients (Peter, Grace) are not listed
    for patient in Patient.objects.all():
        assert patient.first_name not in output
        assert patient.last_name not in output
    assert not Alert.objects.exists()
    assert not OutgoingEmail.objects.exists()
    assert Entry.objects.count() == entries
    assert Entry.objects.unscanned().count() == entries


def test_replay_shows_a_progress_bar_unless_asked_not_to(demo: None) -> None:
    out, err = StringIO(), StringIO()

    call_command("replay_rules", "--since", TWO_WEEKS_AGO, stdout=out, stderr=err)

    assert "7/7" in err.getvalue()
    assert per_patient(out.getvalue()) == PATTERN_RULES


@pytest.fixture
def hilltop(db: None) -> Patient:
    """A second clinic with one patient who reported a red flag yesterday."""
    therapist: Therapist = TherapistFactory(clinic=ClinicFactory(name="Hilltop Physio"))
    patient = enrolled_patient(therapist, days_in_phase=3)
    submit_session(patient, 1, safety_screen=["foot_drop_or_leg_weakness"])
    return patient


def test_the_clinic_option_restricts_the_replay_to_that_clinics_patients(demo: None, hilltop: Patient) -> None:
    everyone = replay("--since", TWO_WEEKS_AGO)
    demo_only = replay("--since", TWO_WEEKS_AGO, "--clinic", DEMO_CLINIC)
    hilltop_only = replay("--since", TWO_WEEKS_AGO, "--clinic", "hilltop physio")

    assert "over 8 patient(s)" in everyone
    assert per_patient(everyone) == {**PATTERN_RULES, hilltop.first_name: {"R-01": 1}}
    assert "over 7 patient(s)" in demo_only
    assert per_patient(demo_only) == PATTERN_RULES
    assert "over 1 patient(s)" in hilltop_only
    assert per_patient(hilltop_only) == {hilltop.first_name: {"R-01": 1}}


def test_a_params_file_of_overrides_changes_the_counts(demo: None, tmp_path: Path) -> None:
    # The clinic switches neck strain off.
    overrides = tmp_path / "no-neck.json"
    overrides.write_text(json.dumps({"r05_enabled": False}))

    output = replay("--since", TWO_WEEKS_AGO, "--params", str(overrides))

    assert f"with the thresholds from {overrides}; nothing was written." in output
    assert "Alerts that would be raised: 4" in output
    assert per_rule(output)["R-05"] == 0
    assert per_patient(output) == {name: rules for name, rules in PATTERN_RULES.items() if name != "Aisha"}


def test_replay_judges_a_patient_without_recorded_transitions_in_their_phase_since_it_began(world: Any) -> None:
    # In treatment for 10 days, enrolled for 40, no phase history: the scan counts from the phase start.
    patient = enrolled_patient(world.therapist, phase=Phase.TREATMENT, days_in_phase=10)
    assert not PhaseTransition.objects.exists()
    for days_ago in (9, 7, 5, 3, 1):
        submit_session(patient, days_ago)
    submit_weekly(patient, 8)
    submit_weekly(patient, 1)

    output = replay("--since", (TODAY - dt.timedelta(days=9)).isoformat(), "--clinic", world.clinic.name)

    assert patient.caseload_ref not in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-01"], "--since must be a date as YYYY-MM-DD, not '2026-13-01'"),
        (["--since", "17/06/2026"], "--since must be a date as YYYY-MM-DD, not '17/06/2026'"),
        (["--since", "2026-06-18"], "--since cannot be in the future"),
        (["--since", TWO_WEEKS_AGO, "--clinic", "Nowhere"], "Unknown clinic 'Nowhere'"),
        (["--since", TWO_WEEKS_AGO, "--params", "{missing}"], "--params: cannot read {missing}: No such file"),
        (["--since", TWO_WEEKS_AGO, "--params", "{not_json}"], "--params: {not_json} is not valid JSON: Expecting"),
        (["--since", TWO_WEEKS_AGO, "--params", "{a_list}"], "--params: the file must hold a JSON object"),
        (["--since", TWO_WEEKS_AGO, "--params", "{invalid}"], "--params: r03_stiffer_count: must be at least 1"),
        (["--since", TWO_WEEKS_AGO, "--params", "{unknown}"], "--params: r99_magic: unknown parameter"),
    ],
)
def test_bad_arguments_are_one_line_command_errors(db: None, tmp_path: Path, args: list[str], message: str) -> None:
    files = {
        "missing": tmp_path / "missing.json",
        "not_json": tmp_path / "not.json",
        "a_list": tmp_path / "list.json",
        "invalid": tmp_path / "invalid.json",
        "unknown": tmp_path / "unknown.json",
    }
    files["not_json"].write_text("{r03_stiffer_count: 1}")
    files["a_list"].write_text("[1, 2]")
    files["invalid"].write_text('{"r03_stiffer_count": 0}')
    files["unknown"].write_text('{"r99_magic": 1}')
    args = [a.format(**files) for a in args]

    with pytest.raises(CommandError) as caught:
        replay(*args)

    assert str(caught.value).startswith(message.format(**files))
    assert "\n" not in str(caught.value)


def compare(*args: str) -> str:
    return replay("--compare", "core:1", "core:2", *args)


def test_compare_reports_per_clinic_and_rule_the_alerts_added_removed_and_the_same(
    demo: None, hilltop: Patient
) -> None:
    output = compare("--since", TWO_WEEKS_AGO)

    assert f"Replay since {TWO_WEEKS_AGO} over 8 patient(s): core:1 against core:2; nothing was written." in output
    demo_section = output.split(f"Clinic {DEMO_CLINIC}:")[1].split("Clinic ")[0]
    rows = {
        m[1]: tuple(int(n) for n in m.groups()[2:])
        for m in re.finditer(r"^\s+(R-\d\d) (\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", demo_section, re.MULTILINE)
    }
    # (under v1, under v2, added, removed, the same)
    assert rows["R-03"] == (1, 1, 0, 0, 1)
    assert rows["R-04"] == (1, 1, 0, 0, 1)
    assert rows["R-12"] == (0, 0, 0, 0, 0)
    assert "Clinic Hilltop Physio:" in output
    assert "Alerts: 6 under core:1, 6 under core:2" in output
    for patient in Patient.objects.all():
        assert patient.last_name not in output
    assert not Alert.objects.exists()
    assert Entry.objects.unscanned().count() == Entry.objects.count()


def test_compare_finds_what_v2_adds_a_fall_alone_at_high_and_a_weekly_safety_screen(world: Any) -> None:
    patient = enrolled_patient(world.therapist, days_in_phase=20)
    submit_weekly(patient, 3, safety_screen=["bladder_change"])  # v1 never screened on the weekly

    output = compare("--since", (TODAY - dt.timedelta(days=7)).isoformat(), "--clinic", world.clinic.name)

    section = output.split(f"Clinic {world.clinic.name}:")[1]
    r01 = re.search(r"^\s+R-01 red_flag_ces\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", section, re.MULTILINE)
    assert r01 is not None
    assert tuple(int(n) for n in r01.groups()) == (0, 1, 1, 0, 0)


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        (["core:1", "core:9"], "--compare: no built-in ruleset core:9; known: core:1, core:2"),
        (["core", "core:2"], "--compare: 'core' is not NAME:VERSION, e.g. core:2"),
    ],
)
def test_compare_refuses_unknown_versions(db: None, versions: list[str], message: str) -> None:
    with pytest.raises(CommandError) as caught:
        replay("--since", TWO_WEEKS_AGO, "--compare", *versions)

    assert str(caught.value) == message
