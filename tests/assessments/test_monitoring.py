"""Remote-monitoring records (issue 9, item 4), on a hand-checked history with gaps, a late entry and the DST change.

London clinic; British Summer Time began on Sunday 29 March 2026 at 01:00 UTC. Ada's monitoring started on
Friday 20 February, so her 30-day periods are 20 Feb - 21 Mar, 22 Mar - 20 Apr, 21 Apr - 20 May. A day counts
when a report reached the clinic on it (London date of ``submitted_at``):

- period 1 (ends in March): 20 Feb (twice), 22 Feb 23:30 GMT, 1 Mar, the report about 3 March sent on 10 March
  (counts on the 10th), 21 Mar 23:30 GMT: 5 days, tier 2-15. Minutes in March: 12 (review, 5 Mar) and 9
  (triage, 28 Mar) = 21, tier 20 or more; the 8 minutes of 27 February belong to February.
- period 2 (ends in April): 22 Mar 00:30, 29 Mar 00:30 GMT (before the switch), 29 Mar 23:30 UTC = 30 Mar
  00:30 BST, then 1-14 April daily: 17 days, tier 16 or more. No minutes in April.

Bo started on 15 March: no period of hers ends in March, so her March row has the minutes only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from assessments import questionnaires as q
from assessments.services import assessment_submit
from patients.models import Patient
from programs.models import ManagementTime, Phase
from programs.services import management_time_log
from tests.assessments.factories import AlertFactory
from tests.assessments.helpers import quiet_session
from tests.factories import EnrollmentFactory, PortalPatientFactory

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


ADA_REPORTS = [  # (sent, describes) in UTC
    (at(2026, 2, 20, 10), None),
    (at(2026, 2, 20, 18), None),
    (at(2026, 2, 22, 23, 30), None),
    (at(2026, 3, 1, 9), None),
    (at(2026, 3, 10, 12), at(2026, 3, 3, 17)),  # late: about 3 March, sent on the 10th
    (at(2026, 3, 21, 23, 30), None),
    (at(2026, 3, 22, 0, 30), None),
    (at(2026, 3, 29, 0, 30), None),
    (at(2026, 3, 29, 23, 30), None),
    *((at(2026, 4, day, 8), None) for day in range(1, 15)),
]
HEADER = [
    "caseload_ref", "last_name", "first_name", "monitoring_start", "period_start", "period_end",
    "days_with_reports", "days_tier", "month", "minutes", "minutes_tier",
]  # fmt: skip


def enrolled(world: Any, time_machine: Any, name: str, started: dt.date) -> Patient:
    time_machine.move_to(at(started.year, started.month, started.day, 7), tick=False)
    patient: Patient = PortalPatientFactory(therapist=world.therapist, first_name=name, last_name="Monitored")
    EnrollmentFactory(patient=patient, phase=Phase.STABILIZATION, phase_since=started, started_on=started)
    return patient


@pytest.fixture
def history(world: Any, time_machine: Any) -> dict[str, Patient]:
    ada = enrolled(world, time_machine, "Ada", dt.date(2026, 2, 20))
    bo = enrolled(world, time_machine, "Bo", dt.date(2026, 3, 15))
    for sent, describes in ADA_REPORTS:
        time_machine.move_to(sent, tick=False)
        assessment_submit(patient=ada, kind=q.POST_WORKOUT, answers=quiet_session(), occurred_at=describes or sent)
    time_machine.move_to(at(2026, 4, 15, 12), tick=False)
    user = world.therapist.user
    for patient, minutes, day, source in (
        (ada, 8, dt.date(2026, 2, 27), ManagementTime.Source.REVIEW),
        (ada, 12, dt.date(2026, 3, 5), ManagementTime.Source.REVIEW),
        (ada, 9, dt.date(2026, 3, 28), ManagementTime.Source.TRIAGE),
        (bo, 25, dt.date(2026, 3, 20), ManagementTime.Source.REVIEW),
    ):
        management_time_log(patient=patient, by=user, minutes=minutes, on=day, source=source)
    enrolled(world, time_machine, "Cy", dt.date(2026, 2, 1))  # monitored, never reports
    time_machine.move_to(at(2026, 4, 21, 12), tick=False)
    return {"ada": ada, "bo": bo}


def report(clinic: Any, month: str, tmp_path: Path) -> list[dict[str, str]]:
    output = tmp_path / f"{month}.csv"
    call_command("rtm_report", "--clinic", str(clinic.pk), "--month", month, "--output", str(output))
    raw = output.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark: spreadsheets read the accents right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def test_the_march_report_counts_days_per_period_and_minutes_per_month(
    world: Any, history: dict[str, Patient], tmp_path: Path
) -> None:
    rows = {row["first_name"]: row for row in report(world.clinic, "2026-03", tmp_path)}

    ada = rows["Ada"]
    assert ada["monitoring_start"] == "2026-02-20"
    assert (ada["period_start"], ada["period_end"]) == ("2026-02-20", "2026-03-21")
    assert (ada["days_with_reports"], ada["days_tier"]) == ("5", "2-15")
    assert (ada["month"], ada["minutes"], ada["minutes_tier"]) == ("2026-03", "21", "20 or more")
    assert ada["caseload_ref"] == history["ada"].caseload_ref
    bo = rows["Bo"]
    assert (bo["period_start"], bo["days_with_reports"], bo["days_tier"]) == ("", "", "")
    assert (bo["minutes"], bo["minutes_tier"]) == ("25", "20 or more")
    cy = rows["Cy"]  # monitored since 1 February (a period ends on 2 March), no report, no minutes
    assert (cy["period_start"], cy["days_with_reports"], cy["days_tier"], cy["minutes"], cy["minutes_tier"]) == (
        "2026-02-01", "0", "below", "0", "below",
    )  # fmt: skip
    assert set(rows) == {"Ada", "Bo", "Cy"}  # the other clinic's patients are not in it


def test_the_april_period_spans_the_dst_change(world: Any, history: dict[str, Patient], tmp_path: Path) -> None:
    rows = {row["first_name"]: row for row in report(world.clinic, "2026-04", tmp_path)}

    ada = rows["Ada"]
    assert (ada["period_start"], ada["period_end"]) == ("2026-03-22", "2026-04-20")
    assert (ada["days_with_reports"], ada["days_tier"]) == ("17", "16 or more")
    assert (ada["minutes"], ada["minutes_tier"]) == ("0", "below")
    assert rows["Bo"]["period_end"] == "2026-04-13"


def test_the_command_refuses_a_bad_month_and_an_unknown_clinic(world: Any) -> None:
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("rtm_report", "--clinic", str(world.clinic.pk), "--month", "2026-13")
    with pytest.raises(CommandError, match="Unknown clinic"):
        call_command("rtm_report", "--clinic", "Nowhere", "--month", "2026-03")


def test_the_command_says_when_it_cannot_write_its_output(world: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no such folder" / "march.csv"
    with pytest.raises(CommandError, match=r"Cannot write .*march\.csv"):
        call_command("rtm_report", "--clinic", str(world.clinic.pk), "--month", "2026-03", "--output", str(missing))


def test_the_admin_offers_the_report_to_the_clinics_administrators(
    client: Any, world: Any, history: dict[str, Patient], tmp_path: Path
) -> None:
    url = f"/admin/patients/clinic/{world.clinic.pk}/monitoring/"
    client.force_login(world.clinic_admin.user)

    chosen = client.post(
        "/admin/patients/clinic/", {"action": "monitoring_report", "_selected_action": [world.clinic.pk]}
    )
    assert chosen.status_code == 302
    assert chosen["Location"] == url
    page = client.get(url, {"month": "2026-03"})
    assert page.status_code == 200
    assert "Ada Monitored" in page.content.decode()
    download = client.get(url, {"month": "2026-03", "download": "1"})
    assert download["Content-Type"].startswith("text/csv")
    assert 'filename="remote-monitoring-2026-03.csv"' in download["Content-Disposition"]
    text = download.content.decode("utf-8-sig")
    command_rows = report(world.clinic, "2026-03", tmp_path)
    assert list(csv.DictReader(io.StringIO(text))) == command_rows  # the same CSV as the command's
    assert client.get(url, {"month": "March"}).context["form"].errors["month"] == ["Give the month as YYYY-MM."]

    client.force_login(world.therapist.user)
    assert client.get(url, {"month": "2026-03"}).status_code == 403
    client.force_login(world.outsider.user)
    assert client.get(url, {"month": "2026-03"}).status_code == 404


def test_minutes_are_logged_on_the_patient_page_and_on_triage(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)
    url = f"/admin/patients/patient/{world.patient.pk}/log-review/"
    today = client.get(url).context["form"].initial["on"]

    assert client.post(url, {"minutes": "15", "on": today.isoformat()}).status_code == 302
    refused = client.post(url, {"minutes": "0", "on": today.isoformat()})
    assert "minutes" in refused.context["form"].errors
    future = client.post(url, {"minutes": "5", "on": (today + dt.timedelta(days=1)).isoformat()})
    assert future.context["form"].errors["on"] == ["The day cannot be in the future."]
    alert = AlertFactory(patient=world.patient, rule_id="R-03")
    resolved = client.post(
        f"/admin/assessments/alert/{alert.pk}/resolve/", {"note": "Phoned the patient", "minutes": "7"}
    )
    assert resolved.status_code == 302

    logged = ManagementTime.objects.filter(patient=world.patient).order_by("pk")
    assert [(t.minutes, t.source, t.by) for t in logged] == [
        (15, ManagementTime.Source.REVIEW, world.therapist.user),
        (7, ManagementTime.Source.TRIAGE, world.therapist.user),
    ]
    client.force_login(world.outsider.user)
    assert client.post(url, {"minutes": "15", "on": today.isoformat()}).status_code == 404


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "1999-12"])
def test_a_month_out_of_range_is_refused_in_words(client: Any, world: Any, month: str) -> None:
    client.force_login(world.clinic_admin.user)
    page = client.get(f"/admin/patients/clinic/{world.clinic.pk}/monitoring/", {"month": month})
    assert page.status_code == 200
    assert page.context["form"].errors["month"] == ["Give a month from 2000-01 to 2999-12."]
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("rtm_report", "--clinic", str(world.clinic.pk), "--month", month)


def test_an_earlier_enrollment_keeps_its_periods_when_the_patient_is_enrolled_again(
    world: Any, time_machine: Any, tmp_path: Path
) -> None:
    ada = enrolled(world, time_machine, "Ada", dt.date(2026, 1, 5))
    for day in range(5, 31):  # 26 days of reports in January
        time_machine.move_to(at(2026, 1, day, 9), tick=False)
        assessment_submit(patient=ada, kind=q.POST_WORKOUT, answers=quiet_session())
    ada.enrollments.update(active=False, ended_on=dt.date(2026, 2, 10))
    time_machine.move_to(at(2026, 2, 15, 9), tick=False)
    EnrollmentFactory(patient=ada, phase=Phase.TREATMENT, phase_since=dt.date(2026, 2, 15),
                      started_on=dt.date(2026, 2, 15))  # fmt: skip
    time_machine.move_to(at(2026, 3, 2, 12), tick=False)

    rows = [r for r in report(world.clinic, "2026-02", tmp_path) if r["first_name"] == "Ada"]

    assert [(r["monitoring_start"], r["period_start"], r["period_end"], r["days_with_reports"]) for r in rows] == [
        ("2026-01-05", "2026-01-05", "2026-02-03", "26"),
    ]


def test_minutes_on_an_api_resolve_are_logged_with_it_and_bad_minutes_change_nothing(world: Any) -> None:
    alert = AlertFactory(patient=world.patient, rule_id="R-03")
    api = APIClient()
    api.force_authenticate(world.therapist.user)

    refused = api.post(f"/api/v1/alerts/{alert.pk}/resolve/", {"note": "Phoned", "minutes": 0}, format="json")
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["minutes"]
    alert.refresh_from_db()
    assert alert.status == alert.Status.OPEN

    resolved = api.post(f"/api/v1/alerts/{alert.pk}/resolve/", {"note": "Phoned", "minutes": 12}, format="json")
    assert resolved.status_code == 200
    logged = ManagementTime.objects.get(patient=world.patient)
    assert (logged.minutes, logged.source, logged.by) == (12, ManagementTime.Source.TRIAGE, world.therapist.user)
