"""Use cases of self-assessments: submitting an entry."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessments import questionnaires as q
from assessments import queues, rules
from assessments.loader import latest_reviews
from assessments.models import Entry, RedFlagReport, SafetyScreenReview
from clinic.publish import publish
from patients.models import Patient
from programs.models import Enrollment, PhaseTransition, active_enrollment

logger = logging.getLogger(__name__)

MAX_BACKDATE = timedelta(days=30)
# Phones' clocks drift: a few minutes "in the future" is the same moment.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Submitted:
    entry: Entry
    advice: list[dict[str, str]]
    # An earlier submission with the same idempotency key, answered again: nothing was stored or scheduled.
    replayed: bool = False


class IdempotencyKeyReused(ValidationError):
    """The idempotency key already stored an entry of this patient from another request body."""

    def __init__(self) -> None:
        super().__init__(
            {
                "idempotency_key": ValidationError(
                    "This Idempotency-Key was already used for a different submission; send a new key.",
                    code="reused",
                )
            }
        )


def submission_fingerprint(data: Any) -> str:
    """SHA-256 of a request body as parsed JSON (keys sorted): equal for the same submission sent again."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def assessment_replay(*, patient: Patient, idempotency_key: str, fingerprint: str) -> Submitted | None:
    """The patient's entry stored earlier with this key, answered again as it was (one query); None if none.

    Raises IdempotencyKeyReused when that entry came from a different request body. The advice is computed
    again from the stored answers, as on submission.
    """
    entry = Entry.objects.filter(patient=patient, idempotency_key=idempotency_key).first()
    if entry is None:
        return None
    if entry.idempotency_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    items = {name: list(getattr(entry, name) or ()) for name in RED_FLAG_FIELDS}
    return Submitted(entry=entry, advice=_red_flag_advice(patient, items, entry.occurred_at), replayed=True)


# Told with every red-flag report, stored or refused: the report is in the database and its scan emails the
# therapist (an outbox row, retried until sent).
THERAPIST_TOLD = "Your therapist has been told about these symptoms."


def assessment_submit(
    *,
    patient: Patient,
    kind: str,
    answers: dict[str, Any],
    occurred_at: datetime | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> Submitted:
    """Store one validated self-assessment and schedule its scan once the transaction commits.

    The red-flag advice is computed from the answers alone, so the patient is told at once, whatever
    happens to the scan, the broker or the email afterwards. With an ``idempotency_key`` (and the request's
    ``fingerprint``) the entry carries the key; when a concurrent request with the same key stored its entry
    first, that one is answered instead (``replayed``), and nothing is stored or scheduled.
    """
    now = timezone.now()
    occurred = _check_occurred_at(occurred_at, now)
    if patient.status != Patient.Status.ACTIVE:
        raise ValidationError(ValidationError("You have been discharged; contact your clinic.", code="discharged"))
    enrollment = active_enrollment(patient)
    if enrollment is None:
        raise ValidationError(
            ValidationError("You are not enrolled in a program yet; contact your clinic.", code="not_enrolled")
        )
    clinic_tz = ZoneInfo(patient.clinic.timezone)  # read with the patient by the API's token authentication
    entry = Entry(
        patient=patient,
        enrollment=enrollment,
        phase=_phase_at(enrollment, occurred.astimezone(clinic_tz).date()),
        kind=kind,
        occurred_at=occurred,
        questionnaire_version=q.QUESTIONNAIRE_VERSION,
        idempotency_key=idempotency_key,
        idempotency_fingerprint=fingerprint if idempotency_key is not None else "",
        **q.column_values(kind, answers),
    )
    if idempotency_key is None:
        # One INSERT, committed on its own (no transaction around it, unless the caller's): the scan is
        # published once it is committed, at once in autocommit, or when the caller's transaction commits.
        entry.save(force_insert=True)
    else:
        try:
            # In a savepoint: losing the race on the unique key must not break the caller's transaction.
            with transaction.atomic():
                entry.save(force_insert=True)
        except IntegrityError:
            # Only the (patient, idempotency_key) constraint can fail here: the answers were validated and
            # the other constraints hold for them. The winner's entry is committed (or ours to read).
            replayed = assessment_replay(patient=patient, idempotency_key=idempotency_key, fingerprint=fingerprint)
            if replayed is None:
                raise
            return replayed
    transaction.on_commit(lambda: scan_request(patient_id=patient.pk), robust=True)
    items = {name: list(answers.get(name) or ()) for name in RED_FLAG_FIELDS}
    return Submitted(entry=entry, advice=_red_flag_advice(patient, items, occurred))


def _phase_at(enrollment: Enrollment, day: date) -> str:
    """The enrollment's phase on ``day`` (clinic-local): the current phase from ``phase_since`` on, the phase
    history before it (a late entry backdated before a transition gets the phase it was made in).

    Only an entry dated before ``phase_since`` costs a query (the enrollment's transitions).
    """
    if day >= enrollment.phase_since:
        return enrollment.phase
    return phase_on(day, PhaseTransition.objects.filter(enrollment=enrollment), enrollment.phase)


def phase_on(day: date, transitions: Iterable[PhaseTransition], current: str) -> str:
    """The phase of an enrollment on ``day`` from its phase history, as the entries changelist derives it.

    The ``to_phase`` of the latest transition effective on or before ``day`` (the latest recorded on a
    shared date), else the ``from_phase`` of the first transition after it, else ``current`` (no history).
    """
    ordered = sorted(transitions, key=lambda t: (t.effective_date, t.pk or 0))
    before = [t for t in ordered if t.effective_date <= day]
    if before:
        return before[-1].to_phase
    return ordered[0].from_phase if ordered else current


def _check_occurred_at(occurred_at: datetime | None, now: datetime) -> datetime:
    occurred = occurred_at or now
    if occurred > now + CLOCK_SKEW:
        raise ValidationError({"occurred_at": ValidationError("This time is in the future.", code="future")})
    if occurred < now - MAX_BACKDATE:
        raise ValidationError(
            {"occurred_at": ValidationError("Entries may be at most 30 days in the past.", code="too_old")}
        )
    return min(occurred, now)


RED_FLAG_FIELDS = ("safety_screen", "safety_screen_unchanged", "systemic_flags")


def _red_flag_advice(patient: Patient, items: dict[str, list[str]], at: datetime) -> list[dict[str, str]]:
    """The patient's advice for red-flag items reported as of ``at``, and that their therapist has been told.

    Judged as the scan judges the entry: with the reviews recorded on or before the entry's date, the latest
    of each item deciding (a later "referred" undoes an earlier "stable").
    """
    if not items["safety_screen"] and not items["systemic_flags"]:
        return []
    stable: dict[str, date] = {}
    today: date | None = None
    if items["safety_screen_unchanged"]:
        today = at.astimezone(patient.clinic.tz).date()
        # Only an unchanged item can be lowered to high (R-01, v2): the reviews matter only then.
        rows = SafetyScreenReview.objects.filter(
            patient=patient, item__in=items["safety_screen_unchanged"], assessed_on__lte=today
        ).values_list("item", "assessed_on", "outcome", "pk")
        latest = latest_reviews((patient.pk, item, (on, pk), outcome) for item, on, outcome, pk in rows)
        stable = {item: order[0] for (_, item), (order, outcome) in latest.items() if outcome == "stable"}
    found = rules.red_flag_advice(
        items["safety_screen"],
        items["systemic_flags"],
        unchanged=items["safety_screen_unchanged"],
        stable_items=stable,
        today=today,
    )
    advice = [{"level": a.level, "message": a.message} for a in found]
    return [*advice, {"level": "info", "message": THERAPIST_TOLD}]


@dataclass(frozen=True)
class RedFlagRefused:
    """What a refused submission that carried red flags still did: the report stored and the advice."""

    report: RedFlagReport
    advice: list[dict[str, str]]


def red_flag_report_store(
    *, patient: Patient, data: Any, errors: list[dict[str, str]], idempotency_key: str | None = None
) -> RedFlagRefused | None:
    """Store the red-flag items of a submission refused for another reason, and schedule its scan.

    A red flag is never dropped, whatever else is wrong with the submission (a bad or missing answer, a
    discharged patient, no enrollment): the recognised items are stored with why the entry was refused, and
    scanned like an entry (R-01/R-02), so the therapist is emailed. None when the request had no red flag.

    With an ``idempotency_key``: a refused submission sent again with the same key and the same red-flag
    items stores nothing new (the earlier report answers, its scan already scheduled). Different items under
    the same key are stored as a report of their own, without the key: a red flag is never dropped.
    """
    raw = data if isinstance(data, dict) else {}
    items = q.red_flag_items(raw.get("answers"))
    if not items["safety_screen"] and not items["systemic_flags"]:
        return None
    if idempotency_key is not None:
        earlier = RedFlagReport.objects.filter(patient=patient, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if _same_items(earlier, items):
                return RedFlagRefused(report=earlier, advice=_red_flag_advice(patient, items, earlier.occurred_at))
            idempotency_key = None
    now = timezone.now()
    kind = raw.get("kind")
    if kind not in q.KINDS:
        kind = q.WEEKLY if items["systemic_flags"] and not items["safety_screen"] else q.POST_WORKOUT
    enrollment = active_enrollment(patient)
    report = RedFlagReport(
        patient=patient,
        enrollment=enrollment,
        kind=kind,
        occurred_at=_claimed_time(raw.get("occurred_at"), now),
        safety_screen=items["safety_screen"],
        safety_screen_unchanged=items["safety_screen_unchanged"],
        systemic_flags=items["systemic_flags"],
        refusal=[{"field": _safe(e.get("field")), "code": _safe(e.get("code"))} for e in errors][:50],
        idempotency_key=idempotency_key,
    )
    try:
        with transaction.atomic():
            report.save(force_insert=True)
            transaction.on_commit(lambda: scan_request(patient_id=patient.pk), robust=True)
    except IntegrityError:
        # A concurrent resend with the same key stored its report first.
        if idempotency_key is None:
            raise
        earlier = RedFlagReport.objects.filter(patient=patient, idempotency_key=idempotency_key).first()
        if earlier is None:
            raise
        if not _same_items(earlier, items):
            return red_flag_report_store(patient=patient, data=data, errors=errors)
        return RedFlagRefused(report=earlier, advice=_red_flag_advice(patient, items, earlier.occurred_at))
    logger.info("red-flag report %s stored from a refused submission", report.pk)
    return RedFlagRefused(report=report, advice=_red_flag_advice(patient, items, report.occurred_at))


def _same_items(report: RedFlagReport, items: dict[str, list[str]]) -> bool:
    return all(getattr(report, name) == items[name] for name in RED_FLAG_FIELDS)


_SAFE = re.compile(r"^[a-z0-9_.]{1,80}$")


def _safe(value: Any) -> str:
    """A field path or error code as stored with a report: only our own names, never what a client typed
    (an unknown field's name may hold anything, NUL and lone surrogates included, which jsonb refuses)."""
    return value if isinstance(value, str) and _SAFE.match(value) else "(unrecognised)"


def _claimed_time(value: Any, now: datetime) -> datetime:
    """The submission's own ``occurred_at`` when it is a valid time within the accepted range, else now."""
    if not isinstance(value, str):
        return now
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return now
    if parsed.tzinfo is None or not now - MAX_BACKDATE <= parsed <= now + CLOCK_SKEW:
        return now
    return min(parsed, now)


def scan_request(*, patient_id: int) -> None:
    """Ask a worker to scan the patient, who just submitted, now (with any others whose submissions wait: a burst is
    scanned in batches). A broker that is down only delays it: the sweep finds the rows."""
    publish(queues.SCAN_PATIENT, patient_id, True)
