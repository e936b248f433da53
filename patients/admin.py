"""Therapist admin: clinics, staff, and the patient caseload with its phase history and transitions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from assessments import charts
from assessments.adherence import WEEKS_SHOWN, weekly_adherence
from assessments.models import Alert
from assessments.monitoring import monitoring_csv, monitoring_report, month_bounds
from assessments.wording import readiness_words
from clinic.admin_filters import DefaultedListFilter
from patients.access import staff_clinic_id, staff_profile
from patients.admin_scoping import ClinicScopedAdmin, ReadOnlyAdmin
from patients.models import Clinic, Invitation, Patient, PatientRead, Therapist
from patients.reads import record_reads
from patients.services import invitation_issue
from programs.admin import ENROLLMENT_FIELDS
from programs.models import Enrollment, ManagementTime, OutcomeScore, Phase, PhaseTransition, Program
from programs.services import (
    MAX_MINUTES,
    enrollment_transition,
    management_time_log,
    outcome_score_record,
    phase_programs,
    readiness_snapshot,
)


class ClinicForm(forms.ModelForm):  # type: ignore[type-arg]
    digest_weekdays = forms.MultipleChoiceField(
        choices=[(str(i), name) for i, name in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])],
        widget=forms.CheckboxSelectMultiple,
        help_text="Days on which the digest is sent.",
    )

    class Meta:
        model = Clinic
        fields = ["name", "timezone", "digest_hour", "digest_weekdays", "email_high_immediately"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["digest_weekdays"] = list(self.instance.digest_weekdays)

    def clean_digest_weekdays(self) -> str:
        return "".join(sorted(self.cleaned_data["digest_weekdays"]))


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    form = ClinicForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A new clinic belongs to no clinic administrator: only superusers create clinics.
        return bool(request.user.is_superuser)

    list_display = ["name", "timezone", "digest_hour", "weekdays", "email_high_immediately"]
    search_fields = ["name"]
    actions = ["monitoring_report"]

    @admin.display(description="Digest days")
    def weekdays(self, obj: Clinic) -> str:
        return ", ".join(obj.digest_weekday_names)

    @admin.action(description="Remote-monitoring report (monthly, CSV)", permissions=["change"])
    def monitoring_report(self, request: HttpRequest, queryset: QuerySet[Clinic]) -> HttpResponse | None:
        clinic = queryset.first()
        if clinic is None:
            return None
        return HttpResponseRedirect(reverse("admin:patients_clinic_monitoring", args=[clinic.pk]))

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<path:object_id>/monitoring/",
                self.admin_site.admin_view(self.monitoring_view),
                name="patients_clinic_monitoring",
            )
        ]
        return custom + super().get_urls()

    def monitoring_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The month's remote-monitoring report: shown, or downloaded as CSV (``download``)."""
        clinic = self.get_object(request, object_id)
        if not self.has_change_permission(request, clinic):
            raise PermissionDenied
        form = MonthForm(request.GET or None, initial={"month": _last_month(clinic)})
        rows = None
        if form.is_bound and form.is_valid():
            month = form.cleaned_data["month"]
            rows = monitoring_report(clinic=clinic, month=month)
            record_reads(request, (row.patient for row in rows), "monitoring report")
            if "download" in request.GET:
                response = HttpResponse(content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="remote-monitoring-{month}.csv"'
                response.write("\ufeff" + monitoring_csv(rows))  # the byte-order mark: spreadsheets read UTF-8
                return response
        context = {
            **self.admin_site.each_context(request),
            "title": f"Remote-monitoring report: {clinic.name}",
            "opts": self.model._meta,
            "clinic": clinic,
            "form": form,
            "rows": rows,
            "month_label": form.cleaned_data["month"] if rows is not None else "",
        }
        return TemplateResponse(request, "admin/patients/clinic/monitoring_report.html", context)


class MonthForm(forms.Form):
    month = forms.RegexField(
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        label="Month",
        help_text="YYYY-MM",
        error_messages={"invalid": "Give the month as YYYY-MM."},
        widget=forms.TextInput(attrs={"type": "month"}),
    )

    def clean_month(self) -> str:
        month = str(self.cleaned_data["month"])
        try:
            month_bounds(month)
        except ValueError:
            raise forms.ValidationError("Give a month from 2000-01 to 2999-12.") from None
        return month


def _last_month(clinic: Clinic) -> str:
    today = timezone.localdate(timezone=clinic.tz)
    return f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"


class ReviewTimeForm(forms.Form):
    minutes = forms.IntegerField(min_value=1, max_value=MAX_MINUTES, label="Minutes")
    on = forms.DateField(label="Day", widget=forms.DateInput(attrs={"type": "date"}), help_text="The day of the work.")


@admin.register(Therapist)
class TherapistAdmin(ClinicScopedAdmin):
    list_display = ["display_name", "email", "clinic", "is_clinic_admin"]
    list_filter = ["is_clinic_admin"]
    list_select_related = ["user", "clinic"]
    search_fields = ["display_name", "user__email"]
    readonly_fields = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A therapist needs a user and a password: `manage.py create_therapist` makes both. The add form
        # here could not set the (read-only) user and failed with an IntegrityError.
        return False

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return ["clinic", "is_clinic_admin"] if request.user.is_superuser else ["is_clinic_admin"]

    @admin.display(description="Email", ordering="user__email")
    def email(self, obj: Therapist) -> str:
        return obj.user.email


class CaseloadFilter(DefaultedListFilter):
    """Defaults to the therapist's own caseload; 'Whole clinic' shows every patient of the clinic."""

    title = "caseload"
    parameter_name = "caseload"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("mine", "My caseload"), ("all", "Whole clinic")]

    def value(self) -> str | None:
        value = super().value()
        if value is None:
            # Therapists start on their own caseload; clinic administrators, who carry none, on the clinic.
            profile = staff_profile(self.request.user)
            return "mine" if profile is not None and not profile.is_clinic_admin else "all"
        return value

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        profile = staff_profile(request.user)
        if self.value() == "mine" and profile is not None:
            return queryset.filter(therapist=profile)
        return queryset

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        self.request = request
        super().__init__(request, params, model, model_admin)


class EnrollmentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Enrollment
    extra = 0
    fields = [name for name in ENROLLMENT_FIELDS if name != "patient"]
    # The program changes with the phase only ("Move to another phase": the clinic's programs of that phase,
    # a recorded transition and a new prescription), never here.
    readonly_fields = ["program", "phase", "phase_since"]
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # New enrollments are made on the enrollment page ("Enroll in a program"), which sets the phase,
        # its start and the program's schedule; this inline only shows and edits existing ones.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OutcomeScoreInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OutcomeScore
    extra = 0
    fields = ["instrument", "score", "recorded_on", "entered_by"]
    readonly_fields = ["entered_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Each row shows who entered it: one join instead of a user query per score.
        return super().get_queryset(request).select_related("entered_by")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OpenAlertInline(admin.TabularInline):  # type: ignore[type-arg]
    """The patient's unresolved alerts with their evidence (triage happens on the alert page)."""

    model = Alert
    extra = 0
    fields = ["severity", "rule_id", "title", "status", "raised_at", "evidence_summary"]
    readonly_fields = ["severity", "rule_id", "title", "status", "raised_at", "evidence_summary"]
    show_change_link = True
    verbose_name_plural = "Open alerts"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).exclude(status__in=Alert.CLOSED)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Evidence")
    def evidence_summary(self, obj: Alert) -> str:
        return obj.words().summary


class PatientForm(forms.ModelForm):  # type: ignore[type-arg]
    # Set per request by PatientAdmin.get_form for staff, whose form has no clinic field.
    staff_clinic_id: int | None = None

    class Meta:
        model = Patient
        fields = ["clinic", "therapist", "first_name", "last_name", "birth_date", "email", "status", "fracture_risk"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # Without a clinic field Django skips the unique (clinic, email) constraint: check it here, or the
        # database refuses the row with an IntegrityError (a 500).
        clinic = cleaned.get("clinic")
        clinic_id = clinic.pk if clinic is not None else self.staff_clinic_id or self.instance.clinic_id
        email = (cleaned.get("email") or "").strip()
        duplicates = Patient.objects.filter(clinic_id=clinic_id, email__iexact=email).exclude(pk=self.instance.pk)
        if clinic_id is not None and email and duplicates.exists():
            self.add_error("email", "A patient with this email already exists in this clinic.")
        return cleaned


@admin.register(Patient)
class PatientAdmin(AuditlogHistoryAdminMixin, ClinicScopedAdmin):
    form = PatientForm
    list_display = ["caseload_ref", "last_name", "first_name", "therapist", "current_phase", "status"]
    list_display_links = ["caseload_ref", "last_name"]
    list_select_related = ["therapist", "clinic"]
    search_fields = ["first_name", "last_name", "email", "caseload_ref"]
    inlines = [OpenAlertInline, EnrollmentInline, OutcomeScoreInline]
    readonly_fields = ["caseload_ref", "portal_account", "phase_history", "transition_link"]
    actions = ["send_invitation"]
    show_auditlog_history_link = True
    change_form_template = "admin/workspace/patient_change_form.html"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The clinical picture first: trend charts over 30 / 90 / 365 days and the timeline, then the details."""
        patient = self.get_object(request, object_id)
        if request.method == "GET":
            record_reads(request, [patient], "patient page")
        enrollment = Enrollment.objects.filter(patient=patient, active=True).select_related("patient__clinic").first()
        days = charts.range_days(request.GET.get("days"))
        picture = charts.clinical_picture(
            patient=patient, days=days, today=_clinic_today(patient), enrollment=enrollment
        )
        weeks = weekly_adherence([enrollment] if enrollment else [], weeks=WEEKS_SHOWN)
        context = {
            "picture": picture,
            "adherence": list(reversed(weeks[enrollment.pk])) if enrollment else [],
            "ranges": charts.RANGES,
            "title": f"{patient.first_name} {patient.last_name} ({patient.caseload_ref})",
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters: list[Any] = [CaseloadFilter, "status", "enrollments__phase"]
        if request.user.is_superuser:
            filters.append("clinic")
        return filters

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        details = ["therapist", "first_name", "last_name", "birth_date", "email", "status", "fracture_risk"]
        if request.user.is_superuser:
            details.insert(0, "clinic")
        if obj is None:
            return [(None, {"fields": details})]
        return [
            (None, {"fields": ["caseload_ref", *details, "portal_account"]}),
            ("Phase", {"fields": ["transition_link", "phase_history"]}),
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        active = Enrollment.objects.filter(patient=OuterRef("pk"), active=True)
        annotated: QuerySet[Any] = (
            super()
            .get_queryset(request)
            .annotate(
                _phase=Subquery(active.values("phase")[:1]), _phase_since=Subquery(active.values("phase_since")[:1])
            )
        )
        return annotated

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        if not request.user.is_superuser:
            obj.clinic_id = staff_clinic_id(request.user)  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form: Any = super().get_form(request, obj, change=change, **kwargs)
        if not request.user.is_superuser:
            form.base_fields.pop("clinic", None)
            form.staff_clinic_id = staff_clinic_id(request.user)
        return form

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, OutcomeScore):
                outcome_score_record(score=instance, by=request.user)
            else:
                instance.save()
        formset.save_m2m()

    @admin.display(description="Phase", ordering="_phase")
    def current_phase(self, obj: Any) -> str:
        if obj._phase is None:
            return "-"
        return f"{Phase(obj._phase).label} since {obj._phase_since:%Y-%m-%d}"

    @admin.display(description="Portal account")
    def portal_account(self, obj: Patient) -> str:
        if obj.user_id is None:
            return "Not activated (use the action 'Send portal invitation')"
        return "Active"

    @admin.display(description="Phase history")
    def phase_history(self, obj: Patient) -> str:
        rows = PhaseTransition.objects.filter(enrollment__patient=obj).select_related("by", "to_program")
        if not rows:
            return "No transitions recorded."
        return format_html(
            "<table><tr><th>Effective</th><th>From</th><th>To</th><th>Program from then</th><th>By</th>"
            "<th>Reason</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        t.effective_date,
                        t.get_from_phase_display(),
                        t.get_to_phase_display(),
                        t.to_program.name if t.to_program else "-",
                        t.by,
                        t.reason or "-",
                    )
                    for t in rows
                ),
            ),
        )

    @admin.display(description="Move to another phase")
    def transition_link(self, obj: Patient) -> str:
        url = reverse("admin:patients_patient_transition", args=[obj.pk])
        enroll = f"{reverse('admin:programs_enrollment_add')}?patient={obj.pk}"
        return format_html(
            '<a class="button" href="{}">Move to another phase</a> <a class="button" href="{}">Enroll in a program</a>',
            url,
            enroll,
        )

    @admin.action(description="Send portal invitation", permissions=["change"])
    def send_invitation(self, request: HttpRequest, queryset: QuerySet[Patient]) -> None:
        count = 0
        for patient in queryset.select_related("clinic"):
            invitation_issue(patient=patient, by=request.user)
            count += 1
        self.message_user(request, f"Sent {count} portal invitation(s).", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<path:object_id>/transition/",
                self.admin_site.admin_view(self.transition_view),
                name="patients_patient_transition",
            ),
            path(
                "<path:object_id>/log-review/",
                self.admin_site.admin_view(self.log_review_view),
                name="patients_patient_log_review",
            ),
        ]
        return custom + super().get_urls()

    def log_review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Log minutes spent reviewing the patient's data (remote-monitoring time)."""
        patient = self.get_object(request, object_id)
        if not self.has_change_permission(request, patient):
            raise PermissionDenied
        today = _clinic_today(patient)
        form = ReviewTimeForm(request.POST or None, initial={"on": today})
        if request.method == "POST" and form.is_valid():
            try:
                logged = management_time_log(
                    patient=patient,
                    by=request.user,
                    minutes=form.cleaned_data["minutes"],
                    on=form.cleaned_data["on"],
                    source=ManagementTime.Source.REVIEW,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"Logged {logged.minutes} min of review on {logged.on}.")
                return HttpResponseRedirect(reverse("admin:patients_patient_change", args=[patient.pk]))
        month_minutes = ManagementTime.objects.filter(
            patient=patient, on__gte=today.replace(day=1), on__lte=today
        ).aggregate(total=Sum("minutes"))["total"]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Log review time: {patient.first_name} {patient.last_name}",
            "opts": self.model._meta,
            "patient": patient,
            "patient_name": f"{patient.first_name} {patient.last_name}",
            "form": form,
            "month_minutes": month_minutes or 0,
        }
        return TemplateResponse(request, "admin/patients/patient/log_review.html", context)

    def transition_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        patient = self.get_object(request, object_id)
        if patient is None:
            raise Http404("No such patient.")
        if not self.has_change_permission(request, patient):
            raise PermissionDenied
        enrollment = Enrollment.objects.filter(patient=patient, active=True).select_related("program").first()
        if request.method == "GET":
            record_reads(request, [patient], "move page")  # open alerts and the readiness check
        if enrollment is None:
            messages.error(request, "This patient has no active enrollment to move.")
            return HttpResponseRedirect(reverse("admin:patients_patient_change", args=[patient.pk]))
        form = TransitionForm(
            request.POST or None,
            current_phase=enrollment.phase,
            today=_clinic_today(patient),
            clinic_id=patient.clinic_id,
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                transition = enrollment_transition(
                    enrollment=enrollment,
                    to_phase=data["to_phase"],
                    program=Program.objects.filter(pk=data["program"]).first() if data.get("program") else None,
                    by=request.user,
                    reason=data["reason"],
                    effective_date=data["effective_date"],
                    irritability_low=data.get("irritability_low"),
                    neuro_screen_clear=data.get("neuro_screen_clear"),
                    motor_control_ok=data.get("motor_control_ok"),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request, f"Moved to {transition.get_to_phase_display()} from {transition.effective_date}."
                )
                return HttpResponseRedirect(reverse("admin:patients_patient_change", args=[patient.pk]))
        readiness = None
        if enrollment.phase == Phase.TREATMENT:
            # After a refused move the form has errors, but the ratings the therapist gave still count.
            ratings = getattr(form, "cleaned_data", {}) if form.is_bound else {}
            readiness = readiness_snapshot(
                patient=patient,
                irritability_low=ratings.get("irritability_low"),
                neuro_screen_clear=ratings.get("neuro_screen_clear"),
                motor_control_ok=ratings.get("motor_control_ok"),
            )
            for criterion in readiness["criteria"]:
                criterion["value_lines"] = readiness_words(criterion["values"])
        open_alerts = list(
            Alert.objects.filter(patient=patient)
            .exclude(status__in=Alert.CLOSED)
            .order_by("severity_rank", "raised_at")
        )
        name = f"{patient.first_name} {patient.last_name}"
        context = {
            **self.admin_site.each_context(request),
            "readiness": readiness,
            "title": f"Move {name} ({patient.caseload_ref}) to another phase",
            "opts": self.model._meta,
            "original": patient,
            "patient": patient,
            "patient_name": name,
            "enrollment": enrollment,
            "open_alerts": [(alert, alert.words().summary) for alert in open_alerts],
            "form": form,
        }
        return TemplateResponse(request, "admin/patients/patient/transition.html", context)


def _clinic_today(patient: Patient) -> Any:
    return timezone.localdate(timezone=patient.clinic.tz)


RATING_FIELDS = ("irritability_low", "neuro_screen_clear", "motor_control_ok")


class TransitionForm(forms.Form):
    to_phase = forms.ChoiceField(label="Move to")
    program = forms.TypedChoiceField(
        label="Program",
        coerce=int,
        empty_value=None,
        required=False,
        help_text="The patient gets their own copy of its exercises, which you can then adjust on the enrollment.",
    )
    effective_date = forms.DateField(
        help_text="When the new phase began; may be in the past.", widget=forms.DateInput(attrs={"type": "date"})
    )
    irritability_low = forms.NullBooleanField(
        label="Low irritability", help_text="Exercise symptoms settle within 24 h.", required=False
    )
    neuro_screen_clear = forms.NullBooleanField(label="Neurological screen clear", required=False)
    motor_control_ok = forms.NullBooleanField(
        label="Motor control",
        help_text="Drawing-in and craniocervical flexion without superficial substitution.",
        required=False,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)

    def __init__(self, *args: Any, current_phase: str, today: Any, clinic_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        to_phase = self.fields["to_phase"]
        assert isinstance(to_phase, forms.ChoiceField)
        to_phase.choices = [(p.value, p.label) for p in Phase if p.value != current_phase]
        program = self.fields["program"]
        assert isinstance(program, forms.ChoiceField)
        groups: dict[str, list[tuple[int, str]]] = {}
        for phase in Phase:
            if phase == current_phase:
                continue
            for rank, choice in enumerate(phase_programs(phase, clinic_id)):  # the phase's default first
                label = f"{choice.name} (default)" if rank == 0 else choice.name
                groups.setdefault(phase.label, []).append((choice.pk, label))
        program.choices = [("", "The new phase's default program"), *groups.items()]
        self.fields["effective_date"].initial = today
        if current_phase != Phase.TREATMENT:
            # The ratings belong to the readiness check treatment -> stabilization: not asked for other moves.
            for name in RATING_FIELDS:
                del self.fields[name]
        else:
            for name in RATING_FIELDS:
                self.fields[
                    name
                ].help_text = f"{self.fields[name].help_text} For the move to core stabilization.".strip()


@admin.register(Invitation)
class InvitationAdmin(ClinicScopedAdmin):
    list_display = ["patient", "created_at", "expires_at", "used_at"]
    list_select_related = ["patient"]
    readonly_fields = ["patient", "created_at", "expires_at", "used_at", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PatientRead)
class PatientReadAdmin(ReadOnlyAdmin, ClinicScopedAdmin):
    """Who read which patient's information: for the clinic's administrators, read-only."""

    list_display = ["timestamp", "actor", "patient_ref", "what", "remote_addr"]
    list_filter = ["timestamp"]
    list_select_related = ["actor"]
    search_fields = ["object_repr", "actor__email"]
    fields = ["timestamp", "actor", "patient_ref", "what", "remote_addr"]
    readonly_fields = ["timestamp", "actor", "patient_ref", "what", "remote_addr"]
    date_hierarchy = "timestamp"

    @admin.display(description="Patient (caseload)")
    def patient_ref(self, obj: PatientRead) -> str:
        return str(obj.object_repr)

    @admin.display(description="What was read")
    def what(self, obj: PatientRead) -> str:
        data = obj.additional_data or {}
        read = str(data.get("read", "-"))
        return f"{read} {data['id']}" if data.get("id") else read
