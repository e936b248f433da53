"""Self-assessment entries and their schedules.

Answers are stored in typed, nullable columns (one per questionnaire field) rather than JSON: the rules
engine and the trends endpoint read a handful of numeric fields over a window of rows, which typed columns
serve with plain indexes and without JSON extraction; the database itself checks every range and choice.
The three multi-choice answers are short JSON lists.
"""

from __future__ import annotations

from typing import Any

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q

from assessments import questionnaires as q
from assessments.wording import AlertWords, describe_alert
from clinic.fields import BulkJSONField
from patients import access
from patients.access import ClinicScopedQuerySet
from patients.models import Patient
from programs.models import Enrollment, Phase


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v.replace("_", " ")) for v in values]


def _in(field: str, values: tuple[str, ...]) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__in": values})


def _between(field: str, low: int, high: int) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": low, f"{field}__lte": high})


class EntryQuerySet(ClinicScopedQuerySet["Entry"]):
    def unscanned(self) -> EntryQuerySet:
        return self.filter(scanned_at__isnull=True)


class Entry(models.Model):
    """One submitted self-assessment. Immutable: a correction is a new entry."""

    class Kind(models.TextChoices):
        POST_WORKOUT = q.POST_WORKOUT, "Post-workout"
        WEEKLY = q.WEEKLY, "Weekly check-in"

    # No index of its own: entry_patient_occurred_idx (patient, -occurred_at) serves every lookup by patient, and
    # one index fewer is one write fewer for each entry stored and each marked scanned.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="entries", db_index=False)
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="entries")
    phase = models.CharField(max_length=16, choices=Phase.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField(help_text="When the workout ended, or the day a weekly check-in covers.")
    submitted_at = models.DateTimeField(auto_now_add=True)
    questionnaire_version = models.PositiveSmallIntegerField(default=q.QUESTIONNAIRE_VERSION)
    scanned_at = models.DateTimeField(null=True, blank=True, editable=False)
    scan_failures = models.PositiveSmallIntegerField(default=0, editable=False)
    # The client's `Idempotency-Key` header, if sent: a repeat by the same patient replays this entry.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, editable=False)
    # SHA-256 of the request body that stored it: the same key with another body is a 409, not a replay.
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="", editable=False)

    # post_workout
    session_completed = models.CharField(max_length=20, null=True, choices=_choices(q.SESSION_COMPLETED))
    back_pain_now = models.SmallIntegerField(null=True)
    back_pain_during_max = models.SmallIntegerField(null=True)
    back_stiffness_now = models.SmallIntegerField(null=True)
    stiffness_change = models.CharField(max_length=8, null=True, choices=_choices(q.STIFFNESS_CHANGE))
    spine_check = models.CharField(max_length=24, null=True, choices=_choices(q.SPINE_CHECK))
    neck_symptoms = models.CharField(max_length=16, null=True, choices=_choices(q.NECK_SYMPTOMS))
    neck_level = models.SmallIntegerField(null=True)
    thigh_symptoms = models.CharField(max_length=8, null=True, choices=_choices(q.THIGH_SYMPTOMS))
    thigh_level = models.SmallIntegerField(null=True)
    thigh_stretch_response = models.CharField(max_length=12, null=True, choices=_choices(q.THIGH_STRETCH_RESPONSE))
    thigh_below_knee = models.BooleanField(null=True)
    thigh_nerve_qualities = models.JSONField(null=True)
    # Both questionnaires (v2): the weekly check-in screens a patient who has stopped working out too.
    safety_screen = models.JSONField(null=True)
    safety_screen_unchanged = models.JSONField(null=True)
    note = models.TextField(blank=True, default="", max_length=q.NOTE_MAX_LENGTH)

    # weekly
    back_pain_avg_7d = models.SmallIntegerField(null=True)
    leg_pain_avg_7d = models.SmallIntegerField(null=True)
    peg_pain = models.SmallIntegerField(null=True)
    peg_enjoyment = models.SmallIntegerField(null=True)
    peg_activity = models.SmallIntegerField(null=True)
    morning_stiffness_level = models.SmallIntegerField(null=True)
    morning_stiffness_duration = models.CharField(
        max_length=8, null=True, choices=_choices(q.MORNING_STIFFNESS_DURATION)
    )
    stiffness_eases_with_movement = models.BooleanField(null=True)
    global_change = models.SmallIntegerField(null=True)
    flare_7d = models.BooleanField(null=True)
    exercise_days_7d = models.SmallIntegerField(null=True)
    psfs_1 = models.SmallIntegerField(null=True)
    psfs_2 = models.SmallIntegerField(null=True)
    psfs_3 = models.SmallIntegerField(null=True)
    systemic_flags = models.JSONField(null=True)
    # Scores derived from the weekly items at submission (v2): means of three items, one decimal.
    peg_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, editable=False)
    psfs_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, editable=False)

    objects = EntryQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "entries"
        indexes = [
            # The patient's history, trends and the rules loader's window: newest first per patient.
            models.Index(fields=["patient", "-occurred_at"], name="entry_patient_occurred_idx"),
            models.Index(fields=["patient", "kind", "-occurred_at"], name="entry_patient_kind_idx"),
            # The unscanned sweep (assessments.tasks.sweep_unscanned): only rows still to scan.
            models.Index(fields=["submitted_at"], condition=Q(scanned_at__isnull=True), name="entry_unscanned_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=q.KINDS), name="entry_kind_valid"),
            *[
                models.CheckConstraint(condition=_between(f, lo, hi), name=f"entry_{f}_range")
                for f, (lo, hi) in {**q.POST_WORKOUT_SCALES, **q.WEEKLY_SCALES}.items()
            ],
            models.CheckConstraint(condition=_in("thigh_symptoms", q.THIGH_SYMPTOMS), name="entry_thigh_valid"),
            models.CheckConstraint(condition=_in("neck_symptoms", q.NECK_SYMPTOMS), name="entry_neck_valid"),
            *[
                models.CheckConstraint(condition=_between(f, 0, 10), name=f"entry_{f}_range")
                for f in ("peg_score", "psfs_score")
            ],
            models.CheckConstraint(
                condition=Q(kind=q.WEEKLY) | (Q(back_pain_now__isnull=False) & Q(safety_screen__isnull=False)),
                name="entry_post_workout_core_answers",
            ),
            models.CheckConstraint(
                condition=Q(kind=q.POST_WORKOUT)
                | (Q(back_pain_avg_7d__isnull=False) & Q(systemic_flags__isnull=False)),
                name="entry_weekly_core_answers",
            ),
            # Two racing POSTs with one key: one INSERT wins, the other answers its replay.
            models.UniqueConstraint(
                fields=["patient", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="entry_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} at {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def answer_fields(self) -> tuple[str, ...]:
        return q.POST_WORKOUT_FIELDS if self.kind == q.POST_WORKOUT else q.WEEKLY_FIELDS

    def answers(self) -> dict[str, Any]:
        """The answers as submitted: the questionnaire's fields, conditional ones that did not apply as null."""
        return {name: getattr(self, name) for name in self.answer_fields}

    @property
    def has_red_flag(self) -> bool:
        return bool(self.safety_screen) or bool(self.systemic_flags)


class RedFlagReportQuerySet(ClinicScopedQuerySet["RedFlagReport"]):
    def unscanned(self) -> RedFlagReportQuerySet:
        return self.filter(scanned_at__isnull=True)


class RedFlagReport(models.Model):
    """The red-flag answers of a submission that was refused for another reason.

    A patient who reports saddle numbness with an out-of-range answer, after discharge or before enrolment
    still reaches their therapist: the valid red-flag items are stored here in the refusing request and
    scanned like an entry (R-01/R-02 only). Only recognised items are kept; never free text.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="red_flag_reports")
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.SET_NULL, null=True, blank=True, related_name="red_flag_reports"
    )
    kind = models.CharField(max_length=16, choices=Entry.Kind.choices)
    occurred_at = models.DateTimeField(help_text="When the patient says it happened (now when not valid).")
    submitted_at = models.DateTimeField(auto_now_add=True)
    safety_screen = models.JSONField(default=list, blank=True)
    safety_screen_unchanged = models.JSONField(default=list, blank=True)
    systemic_flags = models.JSONField(default=list, blank=True)
    refusal = models.JSONField(default=list, help_text="Why the entry was refused: the field errors (codes).")
    scanned_at = models.DateTimeField(null=True, blank=True, editable=False)
    scan_failures = models.PositiveSmallIntegerField(default=0, editable=False)
    # The refused request's `Idempotency-Key`: the same refused submission sent again stores no second report.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, editable=False)

    objects = RedFlagReportQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-occurred_at"], name="redflag_patient_occurred_idx"),
            # The unscanned sweep (assessments.tasks.sweep_unscanned), as for entries.
            models.Index(fields=["submitted_at"], condition=Q(scanned_at__isnull=True), name="redflag_unscanned_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="redflag_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Red-flag report #{self.pk} at {self.submitted_at:%Y-%m-%d %H:%M}"


class SafetyScreenReviewQuerySet(ClinicScopedQuerySet["SafetyScreenReview"]):
    pass


class SafetyScreenReview(models.Model):
    """A therapist's record that a safety-screen item was assessed, recorded when resolving an R-01 alert.

    RULES.md R-01 (v2): an item the patient marks unchanged that was assessed and found stable within the
    last 90 days raises R-01 at high instead of urgent.
    """

    class Outcome(models.TextChoices):
        STABLE = "stable", "Assessed, stable (no emergency referral)"
        REFERRED = "referred", "Referred for emergency or specialist assessment"
        OTHER = "other", "Other (see the resolution note)"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="safety_reviews")
    alert = models.ForeignKey("Alert", on_delete=models.SET_NULL, null=True, blank=True, related_name="safety_reviews")
    item = models.CharField(max_length=32, choices=q.SAFETY_SCREEN_CHOICES)
    assessed_on = models.DateField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SafetyScreenReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-assessed_on", "-id"]
        indexes = [models.Index(fields=["patient", "item", "-assessed_on"], name="safety_review_patient_idx")]
        constraints = [models.CheckConstraint(condition=Q(item__in=q.SAFETY_SCREEN), name="safety_review_item_valid")]

    def __str__(self) -> str:
        return f"{self.item} {self.get_outcome_display()} on {self.assessed_on:%Y-%m-%d}"


class RuleSetQuerySet(models.QuerySet["RuleSet"]):
    def visible_to(self, user: Any) -> RuleSetQuerySet:
        """The built-in rulesets, shared by every clinic, and the user's clinic's own (``patients.access``)."""
        return access.shared_or_own(self, user, clinic="clinic_id")


class RuleSet(models.Model):
    """A version of ruleset ``core`` (1 or 2) with its thresholds (overrides of the RULES.md defaults).

    Built in (no clinic: shared, read-only, the RULES.md defaults) or a clinic's own copy with thresholds of
    its own. A clinic's patients are judged with the clinic's active copy, or the active built-in version when
    the clinic has none; every alert stores the ruleset, its version and the full thresholds it was judged
    with, so a later change never rewrites history. Activation is audited.
    """

    clinic = models.ForeignKey(
        "patients.Clinic", on_delete=models.PROTECT, null=True, blank=True, related_name="rulesets",
        help_text="The clinic that owns this copy; empty for a built-in version, shared by every clinic.",
    )  # fmt: skip
    name = models.CharField(max_length=32, default="core")
    version = models.PositiveIntegerField()
    params = models.JSONField(default=dict, blank=True, help_text="Overrides of the default thresholds.")
    is_active = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RuleSetQuerySet.as_manager()

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "version"], condition=Q(clinic__isnull=True), name="ruleset_built_in_version_unique"
            ),
            models.UniqueConstraint(
                fields=["name"], condition=Q(is_active=True, clinic__isnull=True), name="ruleset_one_active_built_in"
            ),
            models.UniqueConstraint(
                fields=["clinic", "name"], condition=Q(is_active=True), name="ruleset_one_active_per_clinic"
            ),
        ]

    def __str__(self) -> str:
        owner = "built in" if self.clinic_id is None else f"#{self.pk}"
        return f"{self.name} v{self.version} ({owner}){', active' if self.is_active else ''}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from assessments.rules import RULESETS, InvalidParams, params_for

        if self.version not in RULESETS:
            known = ", ".join(f"v{v}" for v in sorted(RULESETS))
            raise ValidationError({"version": f"Ruleset versions are built in: {known}."})
        if not isinstance(self.params, dict):
            raise ValidationError({"params": "Give the thresholds as a JSON object."})
        try:
            params_for(self.version, self.params)
        except InvalidParams as exc:
            raise ValidationError({"params": str(exc)}) from exc


class Severity(models.TextChoices):
    URGENT = "urgent", "Urgent"
    HIGH = "high", "High"
    ROUTINE = "routine", "Routine"


SEVERITY_RANK = {Severity.URGENT: 0, Severity.HIGH: 1, Severity.ROUTINE: 2}


class AlertQuerySet(ClinicScopedQuerySet["Alert"]):
    def unresolved(self) -> AlertQuerySet:
        """Alerts still to act on: neither resolved by a therapist nor cleared by later entries."""
        return self.exclude(status__in=Alert.CLOSED)


class Alert(models.Model):
    """A finding of the rules for one patient, rule and qualifier, with its evidence and triage state."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        # Closed automatically: its condition stopped holding when later entries arrived.
        CLEARED = "cleared", "Cleared"

    CLOSED = (Status.RESOLVED, Status.CLEARED)

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    therapist = models.ForeignKey(
        "patients.Therapist", on_delete=models.PROTECT, related_name="alerts", help_text="Assigned when raised."
    )
    rule_id = models.CharField(max_length=8)
    rule_slug = models.CharField(max_length=40)
    title = models.CharField(max_length=120)
    qualifier = models.CharField(max_length=40, blank=True, default="")
    severity = models.CharField(max_length=8, choices=Severity.choices)
    severity_rank = models.PositiveSmallIntegerField(default=2, editable=False)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.OPEN)
    criteria = BulkJSONField(default=list)
    values = BulkJSONField(default=dict)
    evidence = BulkJSONField(default=list, help_text="Entries and the values that triggered.")
    rationale = models.TextField()
    ruleset = models.ForeignKey(
        RuleSet, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The ruleset (built in or the clinic's copy) the alert was judged with.",
    )  # fmt: skip
    ruleset_version = models.PositiveIntegerField()
    thresholds = BulkJSONField(default=dict)
    raised_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_evidence_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    digested_at = models.DateTimeField(null=True, blank=True, help_text="When first listed in a digest.")
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by_entry = models.ForeignKey(
        Entry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The entry that cleared it.",
    )
    reported_late = models.BooleanField(default=False, help_text="Built only on entries more than 7 days old.")
    escalations = models.PositiveSmallIntegerField(
        default=0, editable=False, help_text="Times a new criterion or a higher severity escalated it."
    )
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["severity_rank", "-raised_at"]
        constraints = [
            # Deduplication: one unresolved alert per (patient, rule, qualifier); racing scans hit this.
            models.UniqueConstraint(
                fields=["patient", "rule_id", "qualifier"],
                condition=~Q(status__in=["resolved", "cleared"]),
                name="alert_one_unresolved_per_key",
            ),
            models.CheckConstraint(
                condition=Q(status="resolved", resolved_at__isnull=False) | ~Q(status="resolved"),
                name="alert_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status="cleared", cleared_at__isnull=False) | ~Q(status="cleared"),
                name="alert_cleared_has_time",
            ),
        ]
        indexes = [
            # The therapist's queue: unresolved alerts, most severe first.
            models.Index(
                fields=["therapist", "severity_rank", "-raised_at"],
                condition=~Q(status__in=["resolved", "cleared"]),
                name="alert_queue_idx",
            ),
            models.Index(fields=["patient", "rule_id", "qualifier"], name="alert_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.title} ({self.get_severity_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.rank()
        super().save(*args, **kwargs)

    def rank(self) -> None:
        """Set ``severity_rank`` from ``severity`` (``save`` does; a ``bulk_create`` must call it first)."""
        self.severity_rank = SEVERITY_RANK.get(self.severity, 2)  # type: ignore[call-overload]

    def criteria_described(self) -> list[dict[str, str]]:
        """The criteria met, each with its text from the rule catalog of the version it was judged with."""
        from assessments.rules import RULESETS

        ruleset = RULESETS.get(self.ruleset_version)
        info = ruleset.catalog.get(self.rule_id) if ruleset is not None else None
        texts = info.criteria if info is not None else {}
        return [{"code": code, "text": texts.get(code, "")} for code in self.criteria or ()]

    def words(self) -> AlertWords:
        """The evidence in plain language (summary, criteria with their facts, entries, notes)."""
        return describe_alert(
            rule_id=self.rule_id,
            qualifier=self.qualifier,
            criteria={c["code"]: c["text"] for c in self.criteria_described()},
            values=self.values or {},
            evidence=self.evidence or [],
        )


class OutgoingEmailQuerySet(models.QuerySet["OutgoingEmail"]):
    def unsent(self) -> OutgoingEmailQuerySet:
        return self.filter(status__in=[OutgoingEmail.Status.QUEUED, OutgoingEmail.Status.RETRY])

    def visible_to(self, user: Any) -> OutgoingEmailQuerySet:
        """Staff see their clinic's emails; patients none (``patients.access``)."""
        return access.restrict(self, user, clinic="clinic_id")


class OutgoingEmail(models.Model):
    """The email outbox: written in the same transaction as its alert or digest, sent by a worker.

    QUEUED -> SENDING (claimed by compare-and-swap) -> SENT, or RETRY with backoff, or FAILED after the
    last attempt. A row left in SENDING past its lease (its worker died) is resent once by the sweep, with the
    same Message-ID (OUTBOX_LEASE_SECONDS).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RETRY = "retry", "Waiting to retry"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=120, unique=True, help_text="alert:<id>:immediate, digest:<therapist>:<date>")
    clinic = models.ForeignKey("patients.Clinic", on_delete=models.CASCADE, related_name="+")
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    # An alert's email names its alert and is written from it when first sent (assessments.outbox): a scan
    # queues a batch's emails without rendering them. Once written, the body is kept, so a resend is the same.
    alert = models.ForeignKey(
        "Alert", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text="The alert an immediate email tells of (its body is written when first sent).",
    )  # fmt: skip
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OutgoingEmailQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The outbox sweep (assessments.tasks.sweep_outbox): rows still to send, by due time.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=["queued", "retry"]), name="email_due_idx"),
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="email_sending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"

    @property
    def message_id(self) -> str:
        """Stable across resends, so a repeat after a crash inside the SMTP exchange is recognisable."""
        return f"<outbox-{self.pk}.{self.key.replace(':', '.')}@clinic.invalid>"


# Activation and threshold changes of rulesets are audited (who, when, what changed).
auditlog.register(RuleSet, exclude_fields=["created_at"])
