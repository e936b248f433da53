"""The therapist's digest leaves at the clinic's local hour on both sides of a daylight-saving change.

No worker here: the clock is moved with time_machine, which only reaches this process. The beat task
``send_digests`` runs in-process and sends through the real SMTP server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from assessments.models import Alert
from assessments.tasks import scan_patient, send_digests
from patients.models import Clinic, Therapist
from tests.factories import ClinicFactory
from tests.integration.conftest import SmtpServer
from tests.integration.helpers import QUIET_SESSION, assert_no_patient_identity, enrolled_patient, write_entry

LONDON = ZoneInfo("Europe/London")
NECK_TENSION = {**QUIET_SESSION, "neck_symptoms": "tension", "neck_level": 3}  # R-05, routine: digest only


@pytest.fixture
def smtp_email(settings: Any, smtp: SmtpServer) -> SmtpServer:
    """This process sends its email to the test SMTP server, as EMAIL_URL=smtp://... would configure it."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp.host
    settings.EMAIL_PORT = smtp.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    return smtp


# (first clock reading, the two digest instants in UTC, the local day each digest is dated)
DST_CHANGES = {
    # Clocks go forward on Sunday 29 March 2026: 07:00 local is 07:00 UTC on Saturday, 06:00 UTC on Sunday.
    "spring-forward": (
        datetime(2026, 3, 27, 12, 0, tzinfo=UTC),
        [datetime(2026, 3, 28, 7, 0, tzinfo=UTC), datetime(2026, 3, 29, 6, 0, tzinfo=UTC)],
        ["Sat 28 Mar", "Sun 29 Mar"],
    ),
    # Clocks go back on Sunday 25 October 2026: 07:00 local is 06:00 UTC on Saturday, 07:00 UTC on Sunday.
    "fall-back": (
        datetime(2026, 10, 23, 12, 0, tzinfo=UTC),
        [datetime(2026, 10, 24, 6, 0, tzinfo=UTC), datetime(2026, 10, 25, 7, 0, tzinfo=UTC)],
        ["Sat 24 Oct", "Sun 25 Oct"],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "digests_at", "days"), DST_CHANGES.values(), ids=DST_CHANGES.keys())
def test_digest_is_sent_at_the_local_digest_hour_across_a_daylight_saving_change(
    time_machine: Any, smtp_email: SmtpServer, start: datetime, digests_at: list[datetime], days: list[str]
) -> None:
    time_machine.move_to(start, tick=False)
    clinic = cast(
        Clinic, ClinicFactory(name="Riverside", timezone="Europe/London", digest_hour=7, digest_weekdays="0123456")
    )
    patient, enrollment = enrolled_patient(clinic=clinic)
    for hours_ago in (50, 26):
        write_entry(patient, enrollment, NECK_TENSION, at=timezone.now() - timedelta(hours=hours_ago))
    scan_patient(patient.pk)
    alert = Alert.objects.get(patient=patient)
    assert (alert.rule_id, alert.severity) == ("R-05", "routine")
    assert send_digests() == {"digests": 0}  # the first tick only schedules the therapist's digest
    therapist = Therapist.objects.get(pk=patient.therapist_id)
    assert therapist.next_digest_at == digests_at[0]

    for number, (due, day) in enumerate(zip(digests_at, days, strict=True), start=1):
        assert due.astimezone(LONDON).hour == 7
        time_machine.move_to(due - timedelta(minutes=1), tick=False)
        assert send_digests() == {"digests": 0}, f"the digest of {day} left early"
        time_machine.move_to(due + timedelta(seconds=30), tick=False)
        assert send_digests() == {"digests": 1}, f"the digest of {day} did not leave at 07:00 local"
        assert len(smtp_email.received) == number
        mail = smtp_email.received[-1]
        assert mail.subject.startswith(f"[Riverside] Alert digest for {day}: ")
        assert mail.rcpt_tos == (therapist.user.email,)
        for text in (mail.subject, *mail.bodies()):
            assert_no_patient_identity(text, patient)
        assert patient.caseload_ref in mail.bodies()[0]

    therapist.refresh_from_db()
    assert therapist.next_digest_at == digests_at[1] + timedelta(days=1)
