"""Admin: the therapist's alert queue and triage, entries, the outbox, and rule thresholds."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timesince import timesince

from assessments import questionnaires as q
from assessments.admin_entries import EntryAdmin as EntryAdmin  # registers the entry pages
from assessments.admin_rulesets import RuleSetAdmin as RuleSetAdmin  # registers the ruleset pages
from assessments.alerts import alert_acknowledge, alert_resolve, reportable_items
from assessments.models import Alert, OutgoingEmail, RedFlagReport, SafetyScreenReview
from assessments.outbox import outbox_requeue_failed
from clinic.admin_filters import DefaultedListFilter
from patients.access import staff_profile
from patients.admin_scoping import ClinicScopedAdmin, ReadOnlyAdmin
from patients.reads import record_page_reads
from programs.services import MAX_MINUTES


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


class ResolveForm(forms.Form):
    """Resolve one alert: the note, and for an R-01 alert the safety-screen items assessed (v2)."""

    note = forms.CharField(
        label="Resolution note",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
        error_messages={"required": "Say how the alert was resolved."},
        help_text="What you did or decided (e.g. phoned the patient, technique reviewed, moved back to treatment).",
    )
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
    minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MINUTES,
        label="Minutes spent",
        help_text="Time spent on this patient's remote monitoring for this alert (the monthly report counts it).",
    )

    def __init__(self, *args: Any, alert: Alert, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = reportable_items(alert)
        if items:
            field = self.fields["reviewed_items"]
            assert isinstance(field, forms.MultipleChoiceField)
            labels = dict(q.SAFETY_SCREEN_CHOICES)
            field.choices = [(i, labels[i]) for i in items]
        else:
            for name in REVIEW_FIELDS:
                del self.fields[name]

    def clean_note(self) -> str:
        note = str(self.cleaned_data.get("note") or "").strip()
        if not note:
            raise ValidationError("Say how the alert was resolved.")
        return note

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reviewed_items") and (not data.get("review_outcome") or not data.get("review_date")):
            raise ValidationError({"review_outcome": "Give the outcome and the date of the assessment."})
        return data

    def reviews(self) -> list[dict[str, Any]]:
        """The safety-screen reviews to record with the resolution (R-01 alerts)."""
        data = self.cleaned_data
        return [
            {"item": item, "outcome": data.get("review_outcome"), "assessed_on": data.get("review_date")}
            for item in data.get("reviewed_items") or ()
        ]


REVIEW_FIELDS = ("reviewed_items", "review_outcome", "review_date")
QUEUE_TITLE = "Alerts: most severe first, then your caseload, then oldest first"


@admin.register(Alert)
class AlertAdmin(ClinicScopedAdmin):
    """The queue (most severe, own caseload, oldest first) and the alert page: evidence in words, then triage.

    Triage is by buttons: Acknowledge (one click) and Resolve (a page asking the note, and for R-01 the
    safety-screen review). The same two actions work in bulk from the queue. Nothing else of an alert is
    editable: it is the rules' record.
    """

    action_form = TriageActionForm
    change_form_template = "admin/workspace/alert_change_form.html"
    list_display = ["severity_badge", "patient_name", "rule", "summary", "age", "status", "therapist"]
    list_display_links = ["rule"]
    list_filter = [QueueFilter, "severity", "rule_id", "status"]
    list_select_related = ["patient", "therapist"]
    search_fields = ["patient__caseload_ref", "rule_id", "title"]
    actions = ["acknowledge", "resolve"]
    fieldsets = [
        (None, {"fields": ["patient_link", "rule_line", "severity", "status", "therapist", "raised_at"]}),
        ("Evidence", {"fields": ["words_html"]}),
        ("Suggested action", {"fields": ["rationale"]}),
        (
            "Triage",
            {
                "fields": [
                    "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "resolution_note",
                    "cleared_at", "cleared_by_entry",
                ]
            },
        ),
        (
            "Judged with",
            {
                "classes": ["collapse"],
                "fields": [
                    "ruleset_version", "raw_html", "last_evidence_at", "reported_late", "escalations", "escalated_at",
                ],
            },
        ),
    ]  # fmt: skip
    readonly_fields = [str(name) for _, opts in fieldsets for name in opts["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The triage record shows only what happened (who acknowledged, resolved or cleared it, and when)."""
        if obj is None:
            return self.fieldsets
        out = []
        for name, opts in self.fieldsets:
            fields = [str(f) for f in opts["fields"]]
            if name == "Triage":
                fields = [f for f in fields if getattr(obj, f, None)]
            if fields:
                out.append((name, {**opts, "fields": fields}))
        return out

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # The changelist puts this ordering before the queryset's own order_by, so the caseload rank is given
        # here as an expression (an annotation does not exist yet): severity, then own caseload, then oldest.
        profile = staff_profile(request.user)
        if profile is None:
            return ["severity_rank", "raised_at"]
        mine = Case(When(therapist=profile, then=Value(0)), default=Value(1), output_field=IntegerField())
        return ["severity_rank", mine.asc(), "raised_at"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        response = super().changelist_view(request, {"title": QUEUE_TITLE, **(extra_context or {})})
        return record_page_reads(request, response, "alert")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> Any:
        alert = self.get_object(request, object_id)
        context = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
            "can_triage": alert.status not in Alert.CLOSED and self.has_change_permission(request, alert),
            "alert": alert,
            "title": f"{alert.rule_id} {alert.title}: {alert.patient.first_name} {alert.patient.last_name}",
            **(extra_context or {}),
        }
        return record_page_reads(request, super().change_view(request, object_id, form_url, context), "alert")

    def save_model(self, request: HttpRequest, obj: Alert, form: Any, change: bool) -> None:
        """Nothing of an alert is edited on its page: triage goes through the Acknowledge and Resolve views."""

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<path:object_id>/acknowledge/",
                self.admin_site.admin_view(self.acknowledge_view),
                name="assessments_alert_acknowledge",
            ),
            path(
                "<path:object_id>/resolve/",
                self.admin_site.admin_view(self.resolve_view),
                name="assessments_alert_resolve",
            ),
        ]
        return custom + super().get_urls()

    def _triage_target(self, request: HttpRequest, object_id: str) -> Alert:
        alert = self.get_object(request, object_id)
        if not self.has_change_permission(request, alert):
            raise PermissionDenied
        return alert  # type: ignore[no-any-return]

    def acknowledge_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        alert = self._triage_target(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            alert_acknowledge(alert=alert, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Acknowledged: {alert.rule_id} {alert.title} for {alert.patient}.")
        return HttpResponseRedirect(reverse("admin:assessments_alert_change", args=[alert.pk]))

    def resolve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        alert = self._triage_target(request, object_id)
        form = ResolveForm(request.POST or None, alert=alert)
        if alert.status in Alert.CLOSED:
            messages.error(request, f"This alert is {alert.get_status_display().lower()} already.")
            return HttpResponseRedirect(reverse("admin:assessments_alert_change", args=[alert.pk]))
        if request.method == "POST" and form.is_valid():
            try:
                alert_resolve(
                    alert=alert,
                    by=request.user,
                    note=form.cleaned_data["note"],
                    reviews=form.reviews(),
                    minutes=form.cleaned_data.get("minutes"),
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, f"Resolved: {alert.rule_id} {alert.title} for {alert.patient}.")
                return HttpResponseRedirect(reverse("admin:assessments_alert_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Resolve {alert.rule_id} {alert.title} for {alert.patient}",
            "opts": self.model._meta,
            "original": alert,
            "alert": alert,
            "words": alert.words(),
            "form": form,
        }
        return TemplateResponse(request, "admin/workspace/alert_resolve.html", context)

    @admin.display(description="Severity", ordering="severity_rank")
    def severity_badge(self, obj: Alert) -> str:
        return format_html('<span class="ws-badge ws-{}">{}</span>', obj.severity, obj.get_severity_display())

    @admin.display(description="Patient", ordering="patient__last_name")
    def patient_name(self, obj: Alert) -> str:
        return f"{obj.patient.first_name} {obj.patient.last_name}"

    @admin.display(description="Rule", ordering="rule_id")
    def rule(self, obj: Alert) -> str:
        return f"{obj.rule_id} {obj.title}"

    @admin.display(description="Rule")
    def rule_line(self, obj: Alert) -> str:
        return f"{obj.rule_id} {obj.title} (ruleset core v{obj.ruleset_version})"

    @admin.display(description="Evidence")
    def summary(self, obj: Alert) -> str:
        return obj.words().summary

    @admin.display(description="Raised", ordering="raised_at")
    def age(self, obj: Alert) -> str:
        local = date_format(timezone.localtime(obj.raised_at), "DATETIME_FORMAT")
        return format_html('{} ago<div class="ws-sub">{}</div>', timesince(obj.raised_at), local)

    @admin.display(description="Patient")
    def patient_link(self, obj: Alert) -> str:
        url = reverse("admin:patients_patient_change", args=[obj.patient_id])
        return format_html('<a href="{}">{}</a>', url, obj.patient)

    @admin.display(description="In words")
    def words_html(self, obj: Alert) -> str:
        return render_to_string("admin/workspace/alert_words.html", {"words": obj.words(), "alert": obj})

    @admin.display(description="Raw values (as judged)")
    def raw_html(self, obj: Alert) -> str:
        raw = {"criteria": obj.criteria, "values": obj.values, "evidence": obj.evidence, "thresholds": obj.thresholds}
        return format_html(
            "<details><summary>Show the raw values</summary><pre>{}</pre></details>",
            json.dumps(raw, indent=2, sort_keys=True),
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


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


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
        "alert",
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


@admin.register(RedFlagReport)
class RedFlagReportAdmin(ReadOnlyAdmin, ClinicScopedAdmin):
    """Red flags of refused submissions (read-only): what was reported, why the entry was refused, the scan."""

    list_display = ["submitted_at", "caseload_ref", "kind", "safety_screen", "systemic_flags", "scanned_at"]
    list_select_related = ["patient"]
    search_fields = ["patient__caseload_ref"]
    readonly_fields = [
        "patient", "kind", "occurred_at", "submitted_at", "safety_screen", "safety_screen_unchanged",
        "systemic_flags", "refusal", "scanned_at", "scan_failures",
    ]  # fmt: skip
    fields = list(readonly_fields)

    @admin.display(description="Caseload", ordering="patient__caseload_ref")
    def caseload_ref(self, obj: RedFlagReport) -> str:
        return obj.patient.caseload_ref
