"""Admin of the rulesets: the built-in versions (shared, read-only) and each clinic's own copies.

A clinic administrator copies a version ("Copy for my clinic"), edits its thresholds in a typed form built from
the version's parameter definitions (kind, bounds, unit, help), then activates it from its page, which first
shows the dry run: per rule, the alerts the clinic's last 90 days would have added and removed against the
active ruleset. Activation is recorded in the audit log (django-auditlog).
"""

from __future__ import annotations

import re
from dataclasses import Field, fields
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from assessments import rules
from assessments.models import RuleSet
from assessments.rulesets import DRY_RUN_DAYS, dry_run, ruleset_activate, ruleset_copy
from patients.access import staff_clinic_id
from patients.admin_scoping import ClinicScopedAdmin

PREFIX = "t_"  # the threshold fields of the form, beside the model's own


def _specs(version: int) -> tuple[Field[Any], ...]:
    return fields(rules.RULESETS[version].params_class)


def _field_for(spec: Field[Any]) -> forms.Field:
    """A form field for one threshold, from its metadata (paramspec): kind, bounds, unit and help."""
    meta = spec.metadata
    kind = meta["kind"]
    unit = meta.get("unit", "")
    help_text = " ".join(part for part in (meta.get("help", ""), f"Default: {spec.default}.") if part)
    label = f"{spec.name} ({unit})" if unit and unit != "switch" else spec.name
    if kind == "bool":
        return forms.BooleanField(required=False, label=label, help_text=help_text)
    if kind == "choice":
        return forms.ChoiceField(choices=[(c, c) for c in meta["choices"]], label=label, help_text=help_text)
    if kind == "int":
        return forms.IntegerField(min_value=meta["lo"], max_value=meta["hi"], label=label, help_text=help_text)
    lo_open = meta.get("lo_open", False)
    bounds = f" Greater than {meta['lo']}." if lo_open else ""
    validators = [_greater_than(meta["lo"])] if lo_open else []
    return forms.FloatField(
        min_value=None if lo_open else meta["lo"],
        max_value=meta["hi"],
        label=label,
        help_text=help_text + bounds,
        validators=validators,
    )


def _greater_than(lo: float) -> Any:
    def check(value: float) -> None:
        if value <= lo:
            raise ValidationError(f"Must be greater than {lo}.", code="min_value")

    return check


class ThresholdsForm(forms.ModelForm):  # type: ignore[type-arg]
    """The notes and every threshold of the ruleset's version as a typed field; saved as the overrides."""

    class Meta:
        model = RuleSet
        fields = ["notes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = rules.params_for(self.instance.version, self.instance.params or {})
        self.specs = {spec.name: spec for spec in _specs(self.instance.version)}
        for name in self.specs:
            if PREFIX + name in self.fields:
                self.fields[PREFIX + name].initial = getattr(current, name)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        overrides = {}
        for name, spec in self.specs.items():
            key = PREFIX + name
            if key not in data:
                continue  # refused by its own field
            value = data[key]
            if spec.metadata["kind"] == "number" and isinstance(spec.default, int) and float(value).is_integer():
                value = int(value)
            if value != spec.default:
                overrides[name] = value
        if self.errors:
            return data
        try:
            rules.params_for(self.instance.version, overrides)  # bounds, and the rules between thresholds
        except rules.InvalidParams as exc:
            self.add_error(PREFIX + exc.key if PREFIX + exc.key in self.fields else None, exc.message)
        else:
            self.instance.params = overrides  # only valid thresholds reach the model
        return data


def _group(version: int, name: str) -> str:
    """The fieldset of a threshold: its rule (``r05_...`` -> "R-05 <title>"), the readiness check, or general."""
    match = re.match(r"r(\d\d)_", name)
    if match is None:
        return "Readiness check" if name.startswith("readiness") else "Baselines and conventions"
    rule_id = f"R-{match[1]}"
    info = rules.RULESETS[version].catalog.get(rule_id)
    return f"{rule_id} {info.title}" if info is not None else rule_id


def _editable(request: HttpRequest, ruleset: RuleSet | None) -> bool:
    return ruleset is None or ruleset.clinic_id is not None


@admin.register(RuleSet)
class RuleSetAdmin(ClinicScopedAdmin):
    form = ThresholdsForm
    list_display = ["name", "version", "owner", "is_active", "overrides", "created_at"]
    list_filter = ["is_active", "version"]
    readonly_fields = ["name", "version", "owner", "is_active", "activate_link", "thresholds_table"]
    actions = ["copy_for_my_clinic"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("clinic")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The ruleset, then its thresholds grouped by rule (a table when read-only: the built-in versions)."""
        head: list[Any] = [(None, {"fields": ["name", "version", "owner", "is_active", "activate_link", "notes"]})]
        if obj is None:
            return head
        if not self.has_change_permission(request, obj):
            return [*head, ("Thresholds", {"fields": ["thresholds_table"]})]
        groups: dict[str, list[str]] = {}
        for spec in _specs(obj.version):
            groups.setdefault(_group(obj.version, spec.name), []).append(PREFIX + spec.name)
        return [*head, *((title, {"fields": names, "classes": ["collapse"]}) for title, names in groups.items())]

    @admin.display(description="Thresholds")
    def thresholds_table(self, obj: RuleSet) -> str:
        current = rules.params_for(obj.version, obj.params or {})
        rows = (
            (spec.name, getattr(current, spec.name), spec.metadata.get("unit", ""), spec.metadata.get("help", ""))
            for spec in _specs(obj.version)
        )
        return format_html(
            "<table><tr><th>Threshold</th><th>Value</th><th>Unit</th><th>Meaning</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        """A form with one typed field per threshold of the ruleset's version."""
        if obj is None:
            return super().get_form(request, obj, change, **kwargs)
        declared = {PREFIX + spec.name: _field_for(spec) for spec in _specs(obj.version)}
        names = list(declared)  # before the form's metaclass adds its own keys to the mapping
        kwargs["form"] = type(f"ThresholdsFormV{obj.version}", (ThresholdsForm,), declared)
        kwargs["fields"] = ["notes", *names] if self.has_change_permission(request, obj) else []
        return super().get_form(request, obj, change, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # built-in versions come with the software; a clinic copies one ("Copy for my clinic")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            obj is not None
            and obj.clinic_id is not None
            and not obj.is_active
            and super().has_delete_permission(request, obj)
        )

    @admin.display(description="Owner", ordering="clinic__name")
    def owner(self, obj: RuleSet) -> str:
        return obj.clinic.name if obj.clinic is not None else "Built in (read-only)"

    @admin.display(description="Changed thresholds")
    def overrides(self, obj: RuleSet) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted((obj.params or {}).items())) or "-"

    @admin.display(description="Activation")
    def activate_link(self, obj: RuleSet) -> str:
        if obj.clinic_id is None:
            return "Built in: copy it for your clinic to change its thresholds or make it your clinic's."
        if obj.is_active:
            return "Active: your clinic's patients are judged with it."
        url = reverse("admin:assessments_ruleset_activate", args=[obj.pk])
        return format_html('<a class="button" href="{}">Dry run and activate…</a>', url)

    @admin.action(description="Copy for my clinic (to edit the thresholds)", permissions=["view"])
    def copy_for_my_clinic(self, request: HttpRequest, queryset: QuerySet[RuleSet]) -> None:
        clinic_id = staff_clinic_id(request.user)
        if clinic_id is None or not request.user.has_perm("assessments.add_ruleset"):
            self.message_user(request, "Only a clinic's administrators copy rulesets for their clinic.", messages.ERROR)
            return
        for ruleset in queryset:
            copy = ruleset_copy(ruleset=ruleset, clinic_id=clinic_id)
            self.message_user(request, f"Copied as {copy}: edit its thresholds, then activate it.", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<path:object_id>/activate/",
                self.admin_site.admin_view(self.activate_view),
                name="assessments_ruleset_activate",
            )
        ]
        return custom + super().get_urls()

    def activate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The dry run over the clinic's last 90 days, then (POST) the activation."""
        ruleset = self.get_object(request, object_id)
        if ruleset.clinic_id is None or not self.has_change_permission(request, ruleset):
            raise PermissionDenied
        if request.method == "POST":
            ruleset_activate(ruleset=ruleset)
            messages.success(request, f"{ruleset} is now your clinic's active ruleset.")
            return HttpResponseRedirect(reverse("admin:assessments_ruleset_change", args=[ruleset.pk]))
        current, changes, patients = dry_run(ruleset)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Activate {ruleset}?",
            "opts": self.model._meta,
            "original": ruleset,
            "ruleset": ruleset,
            "current": current,
            "changes": changes,
            "patients": patients,
            "days": DRY_RUN_DAYS,
        }
        return TemplateResponse(request, "admin/workspace/ruleset_activate.html", context)
