"""The therapist's entry pages (issue "therapist's workspace", item 5), through the admin as a therapist.

An entry's page lists the alerts whose evidence lists it (severity, rule and title linked to the alert,
status, the evidence in words), with one query of the patient's alerts whatever their number. The changelist
shows the phase the patient was in on the entry's day (clinic-local), from the enrollment's phase history
rather than the phase stored, in a few narrow columns, at a query count that does not grow with the rows; it
lists one patient's entries from the URL. Entries submitted late, and the demo's history, store the phase of
their day.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from io import StringIO
from typing import Any, cast

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessments.models import Alert, Entry
from patients.models import Patient
from programs.models import Enrollment, Phase, PhaseTransition
from tests.api.factories import make_entry
from tests.assessments.factories import AlertFactory
from tests.assessments.helpers import enrolled_patient, scan, submit_session, submit_weekly

CHANGELIST = "/admin/assessments/entry/"
LONDON = dt.timezone(dt.timedelta(hours=1))  # BST: London in May and June 2026
STIFFER = {"stiffness_change": "stiffer"}


@pytest.fixture
def therapist_client(world: Any) -> Client:
    client = Client()
    client.force_login(world.therapist.user)
    return client


def get(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return unescape(response.content.decode())


def entry_page(client: Client, entry: Entry) -> str:
    return get(client, f"{CHANGELIST}{entry.pk}/change/")


def section(html: str, title: str) -> str:
    """The fieldset headed ``title`` on a change page."""
    start = html.index(f">{title}</h2>")
    return html[start : html.index("</fieldset>", start)]


def rows(html: str) -> dict[int, str]:
    """The changelist's rows by entry id (each row links to its entry's page)."""
    found: dict[int, str] = {}
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S):
        link = re.search(rf'href="{CHANGELIST}(\d+)/change/', row)
        if link:
            found[int(link.group(1))] = row
    return found


def cell(row: str, column: str) -> str:
    match = re.search(rf'class="field-{column}"[^>]*>(.*?)</t[dh]>', row, flags=re.S)
    assert match, column
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def evidence_of(*entries: Entry) -> list[dict[str, Any]]:
    return [
        {"kind": e.kind, "entry_id": e.pk, "local_date": f"{e.occurred_at:%Y-%m-%d}", "values": {"back_pain_now": 5}}
        for e in entries
    ]


def make_alert(**fields: Any) -> Alert:
    """``AlertFactory(**fields)``, typed: a stored alert."""
    return cast(Alert, AlertFactory(**fields))


def moved_to_stabilization(enrollment: Enrollment) -> PhaseTransition:
    """The recorded move into the enrollment's (stabilization) phase, effective on its ``phase_since``."""
    return PhaseTransition.objects.create(
        enrollment=enrollment,
        from_phase=Phase.TREATMENT,
        to_phase=Phase.STABILIZATION,
        effective_date=enrollment.phase_since,
        by=enrollment.patient.therapist.user,
    )


# --- the entry page: alerts this entry contributed to -----------------------------------------------------------


def test_entry_page_lists_the_alerts_a_scan_raised_on_it_with_summary_and_link(
    world: Any, therapist_client: Client
) -> None:
    patient = enrolled_patient(world.therapist)
    quiet = submit_session(patient, days_ago=3)
    stiffer = [submit_session(patient, days_ago=2, **STIFFER), submit_session(patient, days_ago=1, **STIFFER)]
    scan(patient)
    alert = Alert.objects.get(patient=patient, rule_id="R-03")
    assert {e["entry_id"] for e in alert.evidence} >= {e.pk for e in stiffer}

    for entry in stiffer:
        listed = section(entry_page(therapist_client, entry), "Alerts this entry contributed to")
        assert f'href="{reverse("admin:assessments_alert_change", args=[alert.pk])}"' in listed
        assert f"R-03 {alert.title}" in listed
        assert "High" in listed
        assert "Open" in listed
        assert alert.words().summary in listed

    assert "R-03" not in section(entry_page(therapist_client, quiet), "Alerts this entry contributed to")


def test_entry_page_matches_evidence_by_kind_and_entry_id_with_one_query_of_the_alerts(
    world: Any, therapist_client: Client, django_assert_num_queries: Any
) -> None:
    entry = make_entry(patient=world.patient, back_pain_now=5)
    other = make_entry(patient=world.patient)
    weekly = make_entry(patient=world.patient, weekly=True)
    first = make_alert(patient=world.patient, rule_id="R-06", evidence=evidence_of(other, entry))
    therapist_client.get(f"{CHANGELIST}{entry.pk}/change/")  # warm up first-request caches
    with CaptureQueriesContext(connection) as one_alert:
        html = entry_page(therapist_client, entry)
    assert reverse("admin:assessments_alert_change", args=[first.pk]) in html

    acknowledged = make_alert(
        patient=world.patient,
        rule_id="R-03",
        status=Alert.Status.ACKNOWLEDGED,
        evidence=evidence_of(entry),
    )
    cleared = make_alert(
        patient=world.patient,
        rule_id="R-05",
        status=Alert.Status.CLEARED,
        cleared_at=timezone.now(),
        evidence=evidence_of(weekly, entry),
    )
    # Not this entry: another entry, a red-flag report with the same id, another patient's evidence.
    not_listed = [
        make_alert(patient=world.patient, rule_id="R-04", qualifier="right", evidence=evidence_of(other)),
        make_alert(
            patient=world.patient,
            rule_id="R-01",
            qualifier="report",
            evidence=[{"kind": "red_flag_report", "entry_id": entry.pk, "local_date": "2026-06-16", "values": {}}],
        ),
        make_alert(patient=world.other_patient, rule_id="R-03", evidence=evidence_of(entry)),
        make_alert(patient=world.patient, rule_id="R-12", evidence=evidence_of(weekly)),
    ]

    with django_assert_num_queries(len(one_alert)):
        html = entry_page(therapist_client, entry)

    listed = section(html, "Alerts this entry contributed to")
    for alert, status in ((first, "Open"), (acknowledged, "Acknowledged"), (cleared, "Cleared")):
        row = next(r for r in re.findall(r"<tr>.*?</tr>", listed, flags=re.S) if f"/{alert.pk}/change/" in r)
        assert f"{alert.rule_id} {alert.title}" in row
        assert alert.get_severity_display() in row
        assert status in row
        assert alert.words().summary in row
    for alert in not_listed:
        assert reverse("admin:assessments_alert_change", args=[alert.pk]) not in listed
    # The weekly check-in lists the two alerts that cite it, not those of the session.
    weekly_listed = section(entry_page(therapist_client, weekly), "Alerts this entry contributed to")
    assert set(re.findall(r"/admin/assessments/alert/(\d+)/change/", weekly_listed)) == {
        str(cleared.pk),
        str(not_listed[3].pk),
    }


def test_entry_page_without_alerts_says_so(world: Any, therapist_client: Client) -> None:
    entry = make_entry(patient=world.patient)
    listed = section(entry_page(therapist_client, entry), "Alerts this entry contributed to")
    assert "no alert lists this entry" in listed
    assert "<table" not in listed


def test_another_clinics_entry_is_a_404_and_not_listed(world: Any, therapist_client: Client) -> None:
    foreign = make_entry(patient=world.foreign_patient)
    own = make_entry(patient=world.patient)
    assert therapist_client.get(f"{CHANGELIST}{foreign.pk}/change/").status_code == 404
    assert set(rows(get(therapist_client, CHANGELIST))) == {own.pk}


# --- the changelist: the phase at the time ----------------------------------------------------------------------


def test_changelist_shows_the_phase_on_the_entrys_day_from_the_phase_history(
    world: Any, therapist_client: Client
) -> None:
    enrollment = world.patient.enrollments.get()
    moved_to_stabilization(enrollment)
    since = enrollment.phase_since
    # make_entry stores the enrollment's current phase (stabilization) on every entry: the column must not.
    before = make_entry(
        patient=world.patient, occurred_at=dt.datetime.combine(since, dt.time(18, 30), LONDON) - dt.timedelta(days=1)
    )
    on_the_day = make_entry(patient=world.patient, occurred_at=dt.datetime.combine(since, dt.time(8, 0), LONDON))
    # 00:30 in London is still the day before in UTC: the clinic's day counts.
    after_midnight = make_entry(
        patient=world.patient, weekly=True, occurred_at=dt.datetime.combine(since, dt.time(0, 30), LONDON)
    )
    no_history = make_entry(patient=world.other_patient)  # stabilization, no recorded transition
    assert Entry.objects.get(pk=before.pk).phase == Phase.STABILIZATION

    listed = rows(get(therapist_client, CHANGELIST))

    assert cell(listed[before.pk], "phase_at_time") == "Treatment"
    assert cell(listed[on_the_day.pk], "phase_at_time") == "Core stabilization"
    assert cell(listed[after_midnight.pk], "phase_at_time") == "Core stabilization"
    assert cell(listed[no_history.pk], "phase_at_time") == "Core stabilization"
    # The list filter filters by the same phase.
    assert set(rows(get(therapist_client, f"{CHANGELIST}?phase_at_time=treatment"))) == {before.pk}
    assert set(rows(get(therapist_client, f"{CHANGELIST}?phase_at_time=stabilization"))) == {
        on_the_day.pk,
        after_midnight.pk,
        no_history.pk,
    }
    # The entry's page says so too, with the phase stored at submission when the history says otherwise.
    assert "Treatment (stored at submission: Core stabilization)" in entry_page(therapist_client, before)


def test_changelist_reads_each_clinics_day_in_its_own_time_zone(world: Any, superuser: Any) -> None:
    client = Client()
    client.force_login(superuser)
    for patient in (world.patient, world.foreign_patient):
        moved_to_stabilization(patient.enrollments.get())
    since = world.patient.enrollments.get().phase_since
    assert world.foreign_patient.enrollments.get().phase_since == since
    # 02:00 UTC on the day of the move: that day in London, the day before in New York.
    at = dt.datetime.combine(since, dt.time(2, 0), dt.UTC)
    london = make_entry(patient=world.patient, occurred_at=at)
    new_york = make_entry(patient=world.foreign_patient, occurred_at=at)

    listed = rows(get(client, CHANGELIST))

    assert cell(listed[london.pk], "phase_at_time") == "Core stabilization"
    assert cell(listed[new_york.pk], "phase_at_time") == "Treatment"
    assert cell(listed[new_york.pk], "occurred").endswith("22:00")  # the clinic's local time


def test_changelist_is_narrow_and_links_each_patient_to_the_entry_page(world: Any, therapist_client: Client) -> None:
    session = make_entry(patient=world.patient, back_pain_now=3, back_stiffness_now=4)
    weekly = make_entry(
        patient=world.patient, weekly=True, back_pain_avg_7d=5, peg_pain=5, peg_enjoyment=4, peg_activity=4
    )
    red = make_entry(patient=world.other_patient, neck_symptoms="pain", neck_level=6, safety_screen=["bladder_change"])

    response = therapist_client.get(CHANGELIST)
    listed = rows(unescape(response.content.decode()))

    # A few narrow columns.
    assert response.context["cl"].list_display == [
        "occurred",
        "patient_entry",
        "kind",
        "phase_at_time",
        "key_values",
        "red_flag",
    ]
    row = listed[session.pk]
    assert cell(row, "patient_entry") == str(world.patient)  # name and caseload reference
    assert f'<a href="{CHANGELIST}{session.pk}/change/' in row
    assert cell(row, "key_values") == "pain 3, stiffness 4"
    assert cell(row, "kind") == "Post-workout"
    assert cell(listed[weekly.pk], "key_values") == "7-day pain 5, PEG 4.3"
    assert cell(listed[weekly.pk], "kind") == "Weekly check-in"
    assert cell(listed[red.pk], "key_values") == "pain 2, stiffness 2, neck 6"
    assert 'alt="True"' in listed[red.pk]  # the red-flag column
    assert 'alt="False"' in row
    assert cell(row, "occurred") == "Wed 17 Jun 2026, 13:00"  # NOW in London


def test_changelist_lists_one_patients_entries_from_the_url(world: Any, therapist_client: Client) -> None:
    mine = [make_entry(patient=world.patient), make_entry(patient=world.patient, weekly=True)]
    make_entry(patient=world.other_patient)

    html = get(therapist_client, f"{CHANGELIST}?patient__id__exact={world.patient.pk}")

    assert set(rows(html)) == {e.pk for e in mine}
    assert f"Entries of {world.patient}" in html
    # Another clinic's patient lists nothing, and is not named.
    foreign = get(therapist_client, f"{CHANGELIST}?patient__id__exact={world.foreign_patient.pk}")
    assert rows(foreign) == {}
    assert str(world.foreign_patient) not in foreign


def test_changelist_query_count_is_the_same_at_3_and_30_entries(
    world: Any, therapist_client: Client, django_assert_num_queries: Any
) -> None:
    for patient in (world.patient, world.other_patient, world.colleague_patient):
        moved_to_stabilization(patient.enrollments.get())

    def add(count: int) -> None:
        patients = [world.patient, world.other_patient, world.colleague_patient]
        for n in range(count):
            make_entry(
                patient=patients[n % 3],
                weekly=n % 2 == 1,
                occurred_at=dt.datetime(2026, 5, 1, 18, 30, tzinfo=dt.UTC) + dt.timedelta(days=n),
            )

    add(3)
    therapist_client.get(CHANGELIST)  # warm up first-request caches (content types)
    # 1. the session  2. the user  3. the user's staff profile  4. the clinic's time zone (ClinicTimezoneMiddleware)
    # 5-6. the user's permissions and group permissions  7. the time zones of the clinics the user sees (the
    # clinic-local day of each entry)  8-9. the filtered and the full count  10. the page of entries, patient and
    # clinic joined, the phase at the time by subqueries  11-12. the date hierarchy (range, then days)
    with django_assert_num_queries(13):  # with the audit of the read
        response = therapist_client.get(CHANGELIST)
    assert len(rows(unescape(response.content.decode()))) == 3

    add(27)
    with django_assert_num_queries(13):  # with the audit of the read
        response = therapist_client.get(CHANGELIST)
    assert len(rows(unescape(response.content.decode()))) == 30


# --- the phase stored: late entries and the demo --------------------------------------------------------------


def test_an_entry_backdated_before_a_transition_stores_the_earlier_phase(world: Any) -> None:
    patient = enrolled_patient(world.therapist, days_in_phase=3)
    moved_to_stabilization(patient.enrollments.get())

    late = submit_session(patient, days_ago=5)
    late_weekly = submit_weekly(patient, days_ago=4)
    current = submit_session(patient, days_ago=1)

    assert (late.phase, late_weekly.phase, current.phase) == (Phase.TREATMENT, Phase.TREATMENT, Phase.STABILIZATION)


def test_demo_seed_labels_entries_before_the_move_with_the_treatment_phase(db: None) -> None:
    call_command("seed_demo", quiet_logins=True, stdout=StringIO())

    moved = PhaseTransition.objects.select_related("enrollment__patient__clinic")
    assert moved.count() == 5  # the stabilization patients of the demo
    for transition in moved:
        enrollment = transition.enrollment
        tz = enrollment.patient.clinic.tz
        phases = {
            (e.occurred_at.astimezone(tz).date() >= transition.effective_date, e.phase)
            for e in Entry.objects.filter(enrollment=enrollment)
        }
        assert phases == {(False, Phase.TREATMENT), (True, Phase.STABILIZATION)}, enrollment.patient

    # The therapist's changelist agrees with the stored phase.
    maria = Patient.objects.get(first_name="Maria")
    client = Client()
    client.force_login(get_user_model().objects.get(email="jane.roe@demo.clinic"))
    for phase in (Phase.TREATMENT, Phase.STABILIZATION):
        html = get(client, f"{CHANGELIST}?patient__id__exact={maria.pk}&phase_at_time={phase}")
        stored = set(Entry.objects.filter(patient=maria, phase=phase).values_list("pk", flat=True))
        assert stored
        assert set(rows(html)) == stored
