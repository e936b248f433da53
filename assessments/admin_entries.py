"""Admin: self-assessment entries, read-only, shown as the questionnaire the patient answered.

The change page shows only the fields of the entry's questionnaire, grouped (pain, stiffness, neck, leg, safety
screen; for the weekly check-in its scores), each labelled with the patient's wording and its answer in the
patient's words (choice labels, not codes), all from the declaration in assessments/questionnaires.py. The
changelist stays narrow: a few columns every entry has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from assessments import questionnaires as q
from assessments.models import Entry
from clinic.admin_scoping import ClinicScopedAdmin

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts, _FieldsetSpec
    from django.utils.functional import _StrOrPromise

RED_FLAG_LISTS = frozenset(q.RED_FLAG_FIELDS)
ENVELOPE = ("patient_link", "kind", "phase", "occurred_at", "submitted_at", "questionnaire_version", "scanned_at")


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


@admin.register(Entry)
class EntryAdmin(ClinicScopedAdmin):
    list_display = [
        "occurred_at",
        "caseload_ref",
        "kind",
        "phase",
        "back_pain_now",
        "back_stiffness_now",
        "back_pain_avg_7d",
        "red_flag",
        "scanned_at",
    ]
    list_filter = ["kind", "phase"]
    list_select_related = ["patient"]
    search_fields = ["patient__caseload_ref"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # entries are immutable

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("patient")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> _FieldsetSpec:
        """The envelope, then the entry's own questionnaire, group by group (never the other one's fields)."""
        if obj is None:
            return [(None, {"fields": ENVELOPE})]
        groups = [(title, tuple(answer_name(f.name) for f in fields)) for title, fields in q.fields_by_group(obj.kind)]
        if scores := q.scores_of(obj.kind):
            groups.append(("Scores", tuple(score_name(s.name) for s in scores)))
        fieldsets: list[tuple[_StrOrPromise | None, _FieldOpts]] = [(None, {"fields": ENVELOPE})]
        for title, names in groups:
            fieldsets.append((title, {"fields": names}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [str(name) for _, options in self.get_fieldsets(request, obj) for name in options["fields"]]

    @admin.display(description="Caseload", ordering="patient__caseload_ref")
    def caseload_ref(self, obj: Entry) -> str:
        return obj.patient.caseload_ref

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
