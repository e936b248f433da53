"""Admin: the therapist's alert queue and triage, entries, the outbox, and rule thresholds."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from assessments import questionnaires as q
from assessments import rules
from assessments.admin_entries import EntryAdmin as EntryAdmin  # registers the entry pages
from assessments.alerts import alert_acknowledge, alert_resolve, reportable_items
from assessments.models import Alert, OutgoingEmail, RedFlagReport, RuleSet, SafetyScreenReview
from assessments.outbox import outbox_requeue_failed
from clinic.admin_scoping import ClinicScopedAdmin, DefaultedListFilter
from patients.models import staff_profile


class QueueFilter(DefaultedListFilter):
    """Unresolved alerts by default; 'All' includes the resolved ones."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("unresolved", "Unresolved"), ("mine", "My caseload, unresolved"), ("all", "All")]

    def value(self) -> str:
        return super().value() or "unresolved"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "all":
            return queryset
        queryset = queryset.exclude(status__in=Alert.CLOSED)
        profile = staff_profile(request.user)
        if self.value() == "mine" and profile is not None:
            queryset = queryset.filter(therapist=profile)
        return queryset


class TriageActionForm(ActionForm):
    note = forms.CharField(required=False, label="Resolution note", max_length=2000)


REVIEW_FIELDS = ("reviewed_items", "review_outcome", "review_date")


class AlertForm(forms.ModelForm):  # type: ignore[type-arg]
    reviewed_items = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Safety-screen items assessed",
        help_text="R-01: the reported items you assessed. Assessed as stable, a later report of an item as "
        "unchanged is raised at high instead of urgent for 90 days.",
    )
    review_outcome = forms.ChoiceField(
        required=False, choices=[("", "---"), *SafetyScreenReview.Outcome.choices], label="Outcome of the assessment"
    )
    review_date = forms.DateField(required=False, label="Assessed on", widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Alert
        fields = ["status", "resolution_note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = reportable_items(self.instance) if self.instance.pk else []
        if items:
            field = self.fields["reviewed_items"]
            assert isinstance(field, forms.MultipleChoiceField)
            labels = dict(q.SAFETY_SCREEN_CHOICES)
            field.choices = [(i, labels[i]) for i in items]
        else:
            for name in REVIEW_FIELDS:
                del self.fields[name]

    def reviews(self) -> list[dict[str, Any]]:
        """The safety-screen reviews to record with the resolution (R-01 alerts)."""
        data = self.cleaned_data
        return [
            {"item": item, "outcome": data.get("review_outcome"), "assessed_on": data.get("review_date")}
            for item in data.get("reviewed_items") or ()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        previous = Alert.objects.values_list("status", flat=True).get(pk=self.instance.pk)
        status = data.get("status")
        if previous == Alert.Status.CLEARED and status != previous:
            raise ValidationError("A cleared alert is closed; later entries raise a new one.")
        if status == Alert.Status.CLEARED and previous != status:
            raise ValidationError({"status": "Only the scan clears alerts (R-11); resolve it instead."})
        if data.get("reviewed_items") and (not data.get("review_outcome") or not data.get("review_date")):
            raise ValidationError({"review_outcome": "Give the outcome and the date of the assessment."})
        if previous == Alert.Status.RESOLVED and status != previous:
            raise ValidationError("A resolved alert cannot be re-opened; later entries raise a new one.")
        if previous == Alert.Status.ACKNOWLEDGED and status == Alert.Status.OPEN:
            raise ValidationError({"status": "An acknowledged alert cannot go back to open."})
        if status == Alert.Status.RESOLVED and previous != status and not (data.get("resolution_note") or "").strip():
            raise ValidationError({"resolution_note": "Say how the alert was resolved."})
        return data


@admin.register(Alert)
class AlertAdmin(ClinicScopedAdmin):
    form = AlertForm
    action_form = TriageActionForm
    list_display = [
        "severity_badge",
        "rule_id",
        "title",
        "caseload_ref",
        "therapist",
        "status",
        "raised_at",
        "last_evidence_at",
    ]
    list_display_links = ["rule_id", "title"]
    list_filter = [QueueFilter, "severity", "rule_id", "status"]
    list_select_related = ["patient", "therapist"]
    search_fields = ["patient__caseload_ref", "rule_id", "title"]
    actions = ["acknowledge", "resolve"]
    readonly_fields = [
        "patient_link",
        "therapist",
        "rule_id",
        "title",
        "qualifier",
        "severity",
        "criteria_text",
        "values_table",
        "evidence_table",
        "rationale",
        "ruleset_version",
        "thresholds_json",
        "raised_at",
        "last_evidence_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "cleared_at",
        "cleared_by_entry",
        "reported_late",
        "escalations",
        "escalated_at",
    ]
    fieldsets = [
        (None, {"fields": ["patient_link", "therapist", "rule_id", "title", "qualifier", "severity", "rationale"]}),
        ("Evidence", {"fields": ["criteria_text", "values_table", "evidence_table"]}),
        (
            "Triage",
            {
                "fields": [
                    "status",
                    "resolution_note",
                    "reviewed_items",
                    "review_outcome",
                    "review_date",
                    "acknowledged_at",
                    "acknowledged_by",
                    "resolved_at",
                    "resolved_by",
                    "cleared_at",
                    "cleared_by_entry",
                ]
            },
        ),
        (
            "Judged with",
            {
                "classes": ["collapse"],
                "fields": [
                    "ruleset_version",
                    "thresholds_json",
                    "raised_at",
                    "last_evidence_at",
                    "reported_late",
                    "escalations",
                    "escalated_at",
                ],
            },
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The safety-screen review fields only on an R-01 alert (the items it reported)."""
        if obj is not None and reportable_items(obj):
            return self.fieldsets
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in REVIEW_FIELDS]})
            for name, opts in self.fieldsets
        ]

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # The changelist puts this ordering (else Meta.ordering) before the queryset's own order_by, so the
        # caseload-first order must be given here too, as an expression (the annotation does not exist yet).
        profile = staff_profile(request.user)
        if profile is None:
            return ["severity_rank", "-raised_at"]
        mine = Case(When(therapist=profile, then=Value(0)), default=Value(1), output_field=IntegerField())
        return [mine.asc(), "severity_rank", "-raised_at"]

    @admin.display(description="Severity", ordering="severity_rank")
    def severity_badge(self, obj: Alert) -> str:
        colours = {"urgent": "#ba2121", "high": "#d97706", "routine": "#417690"}
        return format_html(
            '<strong style="color: {}">{}</strong>', colours.get(obj.severity, "#333"), obj.get_severity_display()
        )

    @admin.display(description="Caseload", ordering="patient__caseload_ref")
    def caseload_ref(self, obj: Alert) -> str:
        return obj.patient.caseload_ref

    @admin.display(description="Patient")
    def patient_link(self, obj: Alert) -> str:
        url = reverse("admin:patients_patient_change", args=[obj.patient_id])
        return format_html('<a href="{}">{}</a>', url, obj.patient)

    @admin.display(description="Criteria met")
    def criteria_text(self, obj: Alert) -> str:
        items = ((c["code"], c["text"]) for c in obj.criteria_described())
        return format_html("<ul>{}</ul>", format_html_join("", "<li>({}) {}</li>", items))

    @admin.display(description="Values")
    def values_table(self, obj: Alert) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.values, indent=2, sort_keys=True))

    @admin.display(description="Evidence entries")
    def evidence_table(self, obj: Alert) -> str:
        rows = (
            (
                e.get("kind"),
                e.get("entry_id") or "-",
                e.get("local_date"),
                ", ".join(f"{k}={v}" for k, v in (e.get("values") or {}).items()),
            )
            for e in obj.evidence
        )
        return format_html(
            "<table><tr><th>Kind</th><th>Entry</th><th>Date</th><th>Values</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="Thresholds")
    def thresholds_json(self, obj: Alert) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.thresholds, indent=2, sort_keys=True))

    def save_model(self, request: HttpRequest, obj: Alert, form: Any, change: bool) -> None:
        """Status changes go through the triage services; nothing else of an alert is editable."""
        current = Alert.objects.get(pk=obj.pk)
        if obj.status == Alert.Status.ACKNOWLEDGED and current.status == Alert.Status.OPEN:
            alert_acknowledge(alert=current, by=request.user)
        elif obj.status == Alert.Status.RESOLVED and current.status != Alert.Status.RESOLVED:
            alert_resolve(
                alert=current,
                by=request.user,
                note=form.cleaned_data.get("resolution_note", ""),
                reviews=form.reviews(),
            )

    @admin.action(description="Acknowledge selected alerts", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = 0
        for alert in queryset.exclude(status__in=Alert.CLOSED):
            alert_acknowledge(alert=alert, by=request.user)
            done += 1
        self.message_user(request, f"Acknowledged {done} alert(s).", messages.SUCCESS)

    @admin.action(description="Resolve selected alerts (with the note below)", permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        note = request.POST.get("note", "")
        if not note.strip():
            self.message_user(request, "Write a resolution note to resolve alerts.", messages.ERROR)
            return
        done = 0
        for alert in queryset.exclude(status__in=Alert.CLOSED):
            alert_resolve(alert=alert, by=request.user, note=note)
            done += 1
        self.message_user(request, f"Resolved {done} alert(s).", messages.SUCCESS)


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ClinicScopedAdmin):
    list_display = ["key", "to", "subject", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    list_filter = ["status"]
    search_fields = ["key", "to"]
    readonly_fields = [
        "key",
        "clinic",
        "to",
        "subject",
        "body_text",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "last_error",
        "created_at",
    ]
    exclude = ["body_html"]
    actions = ["requeue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Re-queue failed emails", permissions=["change"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        count = outbox_requeue_failed(email_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Re-queued {count} email(s).", messages.SUCCESS)


class RuleSetForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = RuleSet
        fields = ["name", "version", "params", "is_active", "notes"]
        help_texts = {
            "params": 'Overrides of the defaults, e.g. {"r03_window_days": 10}. Defaults: '
            + json.dumps(rules.DEFAULT_PARAMS.to_dict(), sort_keys=True),
        }


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = RuleSetForm
    list_display = ["name", "version", "is_active", "created_at"]
    list_filter = ["is_active"]


@admin.register(RedFlagReport)
class RedFlagReportAdmin(ClinicScopedAdmin):
    """Red flags of refused submissions (read-only): what was reported, why the entry was refused, the scan."""

    list_display = ["submitted_at", "caseload_ref", "kind", "safety_screen", "systemic_flags", "scanned_at"]
    list_select_related = ["patient"]
    search_fields = ["patient__caseload_ref"]
    readonly_fields = [
        "patient", "kind", "occurred_at", "submitted_at", "safety_screen", "safety_screen_unchanged",
        "systemic_flags", "refusal", "scanned_at", "scan_failures",
    ]  # fmt: skip
    fields = list(readonly_fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Caseload", ordering="patient__caseload_ref")
    def caseload_ref(self, obj: RedFlagReport) -> str:
        return obj.patient.caseload_ref
