"""Admin: self-assessment entries, read-only, shown as the questionnaire the patient answered.

The change page shows only the fields of the entry's questionnaire, grouped (pain, stiffness, neck, leg, safety
screen; for the weekly check-in its scores), each labelled with the patient's wording and its answer in the
patient's words (choice labels, not codes), all from the declaration in assessments/questionnaires.py, and
the alerts whose evidence lists the entry (one query of the patient's alerts, matched in Python: JSON
containment is not portable to SQLite).

The changelist stays narrow (date, patient, kind, phase at the time, a one-line key values column, red flag)
and its query count does not grow with the rows. The phase shown is the one the patient was in on the entry's
day (clinic-local), derived from the enrollment's phase history by a subquery annotation, not the phase stored
at submission. ``?patient__id__exact=<id>`` lists one patient's entries (the patient page links to it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.db.models import Case, CharField, DateField, OuterRef, QuerySet, Subquery, When
from django.db.models.functions import Coalesce, TruncDate
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join

from assessments import questionnaires as q
from assessments.models import Alert, Entry
from patients.admin_scoping import ClinicScopedAdmin, ReadOnlyAdmin
from patients.models import Clinic, Patient
from patients.reads import record_page_reads
from programs.models import Enrollment, Phase, PhaseTransition

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts, _FieldsetSpec
    from django.utils.functional import _StrOrPromise

RED_FLAG_LISTS = frozenset(q.RED_FLAG_FIELDS)
ENVELOPE = (
    "patient_link",
    "kind",
    "phase_recorded",
    "occurred_at",
    "submitted_at",
    "questionnaire_version",
    "scanned_at",
)
ALERTS_SECTION = "Alerts this entry contributed to"
PHASE_LABELS: dict[str, str] = {value: str(label) for value, label in Phase.choices}
# The request attribute caching the time zones of the clinics the user sees (one query per request).
_TIMEZONES_ATTR = "_entry_admin_timezones"


def local_date(timezones: Iterable[str]) -> Any:
    """The entry's ``occurred_at`` as a date in its clinic's time zone (SQL, portable): one ``TruncDate`` per
    time zone of the clinics shown, picked by the patient's clinic (no join when there is only one)."""
    names = sorted(set(timezones))
    if len(names) == 1:
        return TruncDate("occurred_at", tzinfo=ZoneInfo(names[0]))
    return Case(
        *[When(patient__clinic__timezone=name, then=TruncDate("occurred_at", tzinfo=ZoneInfo(name))) for name in names],
        default=TruncDate("occurred_at", tzinfo=dt.UTC),
        output_field=DateField(),
    )


def with_phase_at_time(entries: QuerySet[Entry], timezones: Iterable[str]) -> QuerySet[Entry]:
    """Annotate ``occurred_on`` (the clinic-local date) and ``phase_then``: the phase on that date from the
    enrollment's history (as ``assessments.services.phase_on``): the ``to_phase`` of the latest transition
    effective on or before it, else the ``from_phase`` of the first one after it, else the enrollment's phase.

    Two correlated subqueries per row of the page, no query per row.
    """
    history = PhaseTransition.objects.filter(enrollment=OuterRef("enrollment"))
    since = history.filter(effective_date__lte=OuterRef("occurred_on")).order_by("-effective_date", "-id")
    after = history.filter(effective_date__gt=OuterRef("occurred_on")).order_by("effective_date", "id")
    return entries.annotate(occurred_on=local_date(timezones)).annotate(
        phase_then=Coalesce(
            Subquery(since.values("to_phase")[:1]),
            Subquery(after.values("from_phase")[:1]),
            # A subquery rather than a join: the changelist's counts stay on the entry and patient tables.
            Subquery(Enrollment.objects.filter(pk=OuterRef("enrollment")).order_by().values("phase")[:1]),
            output_field=CharField(),
        )
    )


def alerts_of(entry: Entry) -> list[Alert]:
    """The patient's alerts whose evidence lists ``entry`` (same kind and id), most severe first.

    One query of the patient's alerts, matched in Python: JSON containment is not portable to SQLite.
    """
    alerts = Alert.objects.filter(patient_id=entry.patient_id).defer("rationale", "thresholds", "resolution_note")
    return [a for a in alerts.order_by("severity_rank", "-raised_at", "-id") if _cites(a, entry)]


def _cites(alert: Alert, entry: Entry) -> bool:
    return any(
        isinstance(item, dict) and item.get("kind") == entry.kind and item.get("entry_id") == entry.pk
        for item in alert.evidence or ()
    )


def key_values(entry: Entry) -> str:
    """The entry's main numbers on one line: "pain 3, stiffness 4" (neck and thigh levels when reported);
    for a weekly check-in "7-day pain 5, PEG 4.3"."""
    if entry.kind == q.WEEKLY:
        parts: list[tuple[str, Any]] = [("7-day pain", entry.back_pain_avg_7d), ("PEG", entry.peg_score)]
    else:
        parts = [
            ("pain", entry.back_pain_now),
            ("stiffness", entry.back_stiffness_now),
            ("neck", entry.neck_level),
            ("thigh", entry.thigh_level),
        ]
    return ", ".join(f"{label} {value}" for label, value in parts if value is not None)


def answer_name(name: str) -> str:
    """The admin attribute that shows the answer ``name`` (a method generated from the declaration)."""
    return f"answer_{name}"


def score_name(name: str) -> str:
    return f"score_{name}"


def show_answer(f: q.Field, value: Any) -> str | None:
    """An answer as the patient gave it, in words; None when it was not asked (empty on the page)."""
    if value is None:
        return None
    if f.type == q.INT:
        if f.min_value is not None and f.min_value < 0:
            return f"{value:+d} (from {f.min_value:+d} to {f.max_value:+d})"
        return f"{value} / {f.max_value}"
    if f.type == q.CHOICE:
        return f.label_of(value)
    if f.type == q.BOOL:
        return "Yes" if value else "No"
    if f.type == q.LIST:
        if not value:
            return "None"
        labels = [f.label_of(code) for code in value]
        if f.name in RED_FLAG_LISTS:
            return format_html(
                '<ul style="margin: 0; padding-left: 1.2em; color: #ba2121; font-weight: bold">{}</ul>',
                format_html_join("", "<li>{}</li>", ((label,) for label in labels)),
            )
        return "; ".join(labels)
    return str(value) or None


def _answer_display(f: q.Field) -> Callable[[Any, Entry], str]:
    def display(admin_: EntryAdmin, entry: Entry) -> str:
        shown = show_answer(f, getattr(entry, f.name))
        return admin_.get_empty_value_display() if shown is None else shown

    display.__name__ = answer_name(f.name)
    return admin.display(description=f.wording)(display)


def _score_display(score: q.Score) -> Callable[[Any, Entry], str]:
    def display(admin_: EntryAdmin, entry: Entry) -> str:
        value = getattr(entry, score.name)
        return admin_.get_empty_value_display() if value is None else f"{value} / {score.max_value}"

    display.__name__ = score_name(score.name)
    return admin.display(description=f"{score.label} (mean of {', '.join(score.items)})")(display)


class PhaseAtTimeFilter(admin.SimpleListFilter):
    """By the phase the patient was in on the entry's day (the annotation), not the phase stored."""

    title = "phase at the time"
    parameter_name = "phase_at_time"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(PHASE_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(phase_then=value) if value else queryset


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin, ClinicScopedAdmin):
    list_display = ["occurred", "patient_entry", "kind", "phase_at_time", "key_values", "red_flag"]
    list_display_links = ["patient_entry"]
    list_filter = ["kind", PhaseAtTimeFilter]
    list_select_related = ["patient__clinic"]
    search_fields = ["patient__caseload_ref", "patient__last_name"]
    date_hierarchy = "occurred_at"

    def get_queryset(self, request: HttpRequest) -> Any:
        entries = super().get_queryset(request).select_related("patient__clinic")
        return with_phase_at_time(entries, self._timezones(request))

    def _timezones(self, request: HttpRequest) -> list[str]:
        """The time zones of the clinics the user sees: one query, once per request."""
        cached: list[str] | None = getattr(request, _TIMEZONES_ATTR, None)
        if cached is None:
            cached = sorted(set(Clinic.objects.visible_to(request.user).values_list("timezone", flat=True)))
            setattr(request, _TIMEZONES_ATTR, cached)
        return cached

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Filtered to one patient (``?patient__id__exact=``, the patient page's link), the title names them."""
        patient_id = request.GET.get("patient__id__exact", "")
        if patient_id.isdigit():
            patient = Patient.objects.visible_to(request.user).filter(pk=int(patient_id)).first()
            if patient is not None:
                extra_context = {"title": f"Entries of {patient}", **(extra_context or {})}
        return record_page_reads(request, super().changelist_view(request, extra_context), "entry")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        return record_page_reads(request, response, "entry")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> _FieldsetSpec:
        """The envelope, then the entry's own questionnaire, group by group (never the other one's fields)."""
        if obj is None:
            return [(None, {"fields": ENVELOPE})]
        groups = [(title, tuple(answer_name(f.name) for f in fields)) for title, fields in q.fields_by_group(obj.kind)]
        if scores := q.scores_of(obj.kind):
            groups.append(("Scores", tuple(score_name(s.name) for s in scores)))
        fieldsets: list[tuple[_StrOrPromise | None, _FieldOpts]] = [
            (None, {"fields": ENVELOPE}),
            (ALERTS_SECTION, {"fields": ("contributing_alerts",)}),
        ]
        for title, names in groups:
            fieldsets.append((title, {"fields": names}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [str(name) for _, options in self.get_fieldsets(request, obj) for name in options["fields"]]

    @admin.display(description="Date", ordering="occurred_at")
    def occurred(self, obj: Entry) -> str:
        """When it happened, in the clinic's time zone."""
        return formats.date_format(obj.occurred_at.astimezone(obj.patient.clinic.tz), "D j M Y, H:i")

    @admin.display(description="Patient", ordering="patient__last_name")
    def patient_entry(self, obj: Entry) -> str:
        """The patient's name and caseload reference (the link to the entry's page)."""
        return str(obj.patient)

    @admin.display(description="Phase at the time", ordering="phase_then")
    def phase_at_time(self, obj: Entry) -> str:
        phase = getattr(obj, "phase_then", None) or obj.phase
        return PHASE_LABELS.get(phase, phase)

    @admin.display(description="Phase at the time")
    def phase_recorded(self, obj: Entry) -> str:
        """The phase on the entry's day; the one stored at submission too when the history now says otherwise
        (a transition recorded later with an earlier effective date)."""
        shown = self.phase_at_time(obj)
        if getattr(obj, "phase_then", None) in (None, obj.phase):
            return shown
        return f"{shown} (stored at submission: {PHASE_LABELS.get(obj.phase, obj.phase)})"

    @admin.display(description="Key values")
    def key_values(self, obj: Entry) -> str:
        return key_values(obj) or self.get_empty_value_display()

    @admin.display(description="Alerts")
    def contributing_alerts(self, obj: Entry) -> str:
        """The alerts whose evidence lists this entry: severity, rule and title (linked), status, the evidence
        in words."""
        alerts = alerts_of(obj)
        if not alerts:
            return "None: no alert lists this entry in its evidence."
        rows = format_html_join(
            "",
            '<tr><td><span class="ws-badge ws-{}">{}</span></td><td><a href="{}">{} {}</a></td><td>{}</td>'
            "<td>{}</td></tr>",
            (
                (
                    a.severity,
                    a.get_severity_display(),
                    reverse("admin:assessments_alert_change", args=[a.pk]),
                    a.rule_id,
                    a.title,
                    a.get_status_display(),
                    a.words().summary,
                )
                for a in alerts
            ),
        )
        return format_html(
            "<table><thead><tr><th>Severity</th><th>Alert</th><th>Status</th><th>Evidence in words</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Patient")
    def patient_link(self, obj: Entry) -> str:
        url = reverse("admin:patients_patient_change", args=[obj.patient_id])
        return format_html('<a href="{}">{}</a>', url, obj.patient)

    @admin.display(description="Red flag", boolean=True)
    def red_flag(self, obj: Entry) -> bool:
        return obj.has_red_flag


# One display per declared answer and score, shared by both questionnaires where a field is on both.
for _field in {f.name: f for kind in q.KINDS for f in q.fields_of(kind)}.values():
    setattr(EntryAdmin, answer_name(_field.name), _answer_display(_field))
for _score in (s for kind in q.KINDS for s in q.scores_of(kind)):
    setattr(EntryAdmin, score_name(_score.name), _score_display(_score))
