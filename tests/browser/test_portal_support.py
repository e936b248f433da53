"""The portal stack fixture itself (tests/browser/portal_support.py), without any portal page.

Over HTTP to the live server, as the portal will be used: the invitation email reaches the SMTP sink with a link
to the live server, the patient activates and logs in, and a red-flag report is scanned by the real worker,
whose urgent email to the therapist reaches the sink.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from assessments import questionnaires as q
from assessments.models import Alert, Entry
from programs.models import Enrollment, Phase, PrescribedExercise
from tests.api.factories import post_workout_answers
from tests.browser.portal_support import PortalStack, addressed_to, email_links, email_text
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.worker]

PASSWORD = "a-long-walk-on-the-harbour-wall"


def call(method: str, url: str, body: dict[str, Any] | None = None, token: str | None = None) -> tuple[int, Any]:
    """One JSON request to the live server: the status and the decoded body."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (the live server)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def activate_and_log_in(stack: PortalStack, link: str) -> str:
    token = parse_qs(urlsplit(link).query)["token"][0]
    status, answer = call("POST", f"{stack.url}/api/v1/auth/activate/", {"token": token, "password": PASSWORD})
    assert status == 200, answer
    return token


def device_token(stack: PortalStack, email: str) -> str:
    status, answer = call("POST", f"{stack.url}/api/v1/auth/token/", {"email": email, "password": PASSWORD})
    assert status == 200, answer
    return str(answer["token"])


def test_invited_patient_activates_reports_a_red_flag_and_the_therapist_is_emailed(portal_stack: PortalStack) -> None:
    stack = portal_stack
    assert stack.smtp.messages == []

    patient, link = stack.invite_patient("Nora", "nora.quay@example.org")

    # The invitation email is at the sink, to the patient, with the link to the live server.
    (invitation,) = stack.smtp.messages
    assert addressed_to(invitation, "nora.quay@example.org")
    assert str(invitation["Subject"]) == "[Harbour Physio] Your patient portal invitation"
    assert link in email_links(invitation)
    assert link.startswith(f"{stack.url}/")
    assert "token=" in link
    # Enrolled in the stabilization phase, with the program's exercises prescribed.
    enrollment = Enrollment.objects.get(patient=patient, active=True)
    assert enrollment.phase == Phase.STABILIZATION
    assert PrescribedExercise.objects.filter(enrollment=enrollment).count() >= 3

    activate_and_log_in(stack, link)
    token = device_token(stack, patient.email)

    status, me = call("GET", f"{stack.url}/api/v1/me/", token=token)
    assert status == 200, me
    assert me["first_name"] == "Nora"
    assert me["clinic"]["name"] == "Harbour Physio"
    assert me["therapist"]["display_name"] == stack.therapist.display_name
    assert me["enrollment"]["phase"] == Phase.STABILIZATION
    status, program = call("GET", f"{stack.url}/api/v1/me/program/", token=token)
    assert status == 200, program
    assert program["exercises"], program
    status, due = call("GET", f"{stack.url}/api/v1/assessments/due/", token=token)
    assert status == 200, due
    assert q.POST_WORKOUT in {item["kind"] for item in due}

    red_flag = {"kind": q.POST_WORKOUT, "answers": post_workout_answers(safety_screen=["saddle_numbness"])}
    status, entry = call("POST", f"{stack.url}/api/v1/assessments/", red_flag, token=token)

    assert status == 201, entry
    assert entry["advice"][0]["level"] == "urgent"
    mail = stack.wait_for_urgent_email()
    assert mail["To"] == stack.therapist_email
    assert str(mail["Subject"]).startswith("[Harbour Physio] URGENT: ")
    text = email_text(mail)
    assert patient.caseload_ref in text
    assert "Nora" not in text
    assert any(url.startswith(f"{stack.url}/admin/") for url in email_links(mail)), text
    alert = Alert.objects.get(patient=patient)
    assert (alert.rule_id, alert.severity) == ("R-01", "urgent")
    assert stack.worker_errors() == []


def test_each_test_starts_with_an_empty_sink_and_the_module_worker_scans_a_quiet_report(
    portal_stack: PortalStack,
) -> None:
    stack = portal_stack
    assert stack.smtp.messages == []  # the first test's emails are gone

    patient, link = stack.invite_patient("Ivo", "ivo.pier@example.org", last_name="Pier")
    activate_and_log_in(stack, link)
    token = device_token(stack, patient.email)
    quiet = {"kind": q.POST_WORKOUT, "answers": post_workout_answers()}
    status, entry = call("POST", f"{stack.url}/api/v1/assessments/", quiet, token=token)

    assert status == 201, entry
    assert "urgent" not in {a["level"] for a in entry.get("advice", [])}
    scanned = Entry.objects.filter(pk=entry["id"], scanned_at__isnull=False)
    wait_until(scanned.exists, what="the worker to scan the quiet report", workers=(stack.worker,))
    assert not Alert.objects.filter(patient=patient, severity="urgent").exists()
    assert [str(m["Subject"]) for m in stack.smtp.messages] == ["[Harbour Physio] Your patient portal invitation"]
    assert stack.worker_errors() == []
