"""FHIR R4 export of one patient, and the Questionnaires its QuestionnaireResponses answer.

The Bundle (``collection``) holds the Patient, a QuestionnaireResponse per entry, an Observation per scored
answer and per derived score (PEG, PSFS), an Observation per clinician-entered outcome score (ODI ...), and a
Flag per alert, open or closed. Every resource has a legal id and a ``urn:uuid:`` fullUrl that is the same in
every export (uuid5 of this site, the resource's kind and primary key), and every reference in the Bundle
points at such a fullUrl, so it resolves inside the Bundle.

The Questionnaires are generated from the one declaration (``assessments.questionnaires``): items, types,
ranges, labelled choices as codings, conditions as ``enableWhen``, required. They are served at
``/api/v1/fhir/Questionnaire/<kind>-v<version>``, the canonical URL each QuestionnaireResponse names.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from assessments import questionnaires as q
from assessments.models import Alert, Entry, Severity
from patients.models import Patient
from programs.models import OutcomeScore

FHIR_JSON: Final = "application/fhir+json"

# uuid5 namespace of the fullUrls (a constant: changing it changes every resource's identity in the EHR).
_NAMESPACE: Final = uuid.UUID("0d8c3f4e-6b3a-5f0e-9a51-2f7c1e8b4a60")

SNOMED: Final = "http://snomed.info/sct"
UCUM: Final = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
FLAG_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/flag-category"
# Core extension of Flag (R4) and its code system: the alert's severity as a standard priority.
FLAG_PRIORITY: Final = "http://hl7.org/fhir/StructureDefinition/flag-priority"
FLAG_PRIORITY_CODES: Final = "http://hl7.org/fhir/flag-priority-code"
# Core extension of Flag: the resources that support it (the entries of the alert's evidence).
FLAG_DETAIL: Final = "http://hl7.org/fhir/StructureDefinition/flag-detail"
MIN_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/maxValue"
OPTION_EXCLUSIVE: Final = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"

# The answer of a list question that lists nothing: none of its items (a negative screen, not "not asked").
NONE_CODE: Final = "none"
NONE_DISPLAY: Final = "None of these"

# urgent, high, routine -> high, medium, low priority (IHE alert priorities); the exact word rides along.
_PRIORITY: Final = {
    Severity.URGENT: ("PH", "High priority"),
    Severity.HIGH: ("PM", "Medium priority"),
    Severity.ROUTINE: ("PL", "Low priority"),
}


@dataclass(frozen=True, slots=True)
class _Site:
    code: str
    display: str


_LOWER_BACK = _Site("37822005", "Lower back structure")
_NECK = _Site("45048000", "Neck structure")
_LOWER_LIMB = _Site("61685007", "Lower limb structure")
_LEFT_LOWER_LIMB = _Site("32153003", "Structure of left lower limb")
_RIGHT_LOWER_LIMB = _Site("62175007", "Structure of right lower limb")

# Where each scale is felt: with the field's own code (and LOINC's pain severity where it applies) this
# tells apart back pain now, during the workout and on average, stiffness, neck and leg symptoms.
_BODY_SITES: Final[dict[str, _Site]] = {
    "back_pain_now": _LOWER_BACK,
    "back_pain_during_max": _LOWER_BACK,
    "back_stiffness_now": _LOWER_BACK,
    "back_pain_avg_7d": _LOWER_BACK,
    "morning_stiffness_level": _LOWER_BACK,
    "neck_level": _NECK,
    "leg_pain_avg_7d": _LOWER_LIMB,
    "thigh_level": _LOWER_LIMB,
}
_THIGH_SIDES: Final = {"left": _LEFT_LOWER_LIMB, "right": _RIGHT_LOWER_LIMB, "both": _LOWER_LIMB}

_QUESTIONNAIRE_NAME = re.compile(r"^(?P<kind>[a-z_]+)-v(?P<version>[1-9][0-9]{0,2})$")


# Addresses ---------------------------------------------------------------------------------------------------


def _system(name: str) -> str:
    """This site's code systems and identifier systems (URIs: they name, they need not answer)."""
    return f"{settings.SITE_URL}/fhir/{name}"


SELF_ASSESSMENT: Final = "CodeSystem/self-assessment"


def _full_url(kind: str, key: Any) -> str:
    """The resource's fullUrl: the same in every export of this site, distinct across sites."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{settings.SITE_URL}/{kind}/{key}')}"


def _ref(full_url: str) -> dict[str, str]:
    return {"reference": full_url}


def questionnaire_name(kind: str, version: int) -> str:
    return f"{kind}-v{version}"


def questionnaire_url(kind: str, version: int) -> str:
    """The canonical URL of a Questionnaire, which the Questionnaire endpoint answers."""
    return settings.SITE_URL + reverse("fhir-questionnaire", kwargs={"name": questionnaire_name(kind, version)})


def answer_system(field: q.Field) -> str:
    """The code system of a choice or list question's answers (one per question: codes differ in meaning)."""
    return _system(f"{SELF_ASSESSMENT}/{field.name}")


def _answer_coding(field: q.Field, code: str) -> dict[str, str]:
    display = NONE_DISPLAY if field.type == q.LIST and code == NONE_CODE else field.label_of(code)
    return {"system": answer_system(field), "code": code, "display": display}


def _field_code(field: q.Field) -> dict[str, Any]:
    coding = [{"system": _system(SELF_ASSESSMENT), "code": field.fhir_code, "display": field.label}]
    if field.loinc is not None:
        coding.insert(0, {"system": field.loinc.system, "code": field.loinc.code, "display": field.loinc.display})
    return {"coding": coding, "text": field.label}


def _fhir_id(*parts: Any) -> str:
    """A legal id ([A-Za-z0-9-.]{1,64}) from readable parts: underscores become hyphens."""
    return "-".join(str(p) for p in parts).replace("_", "-")


# Questionnaires ----------------------------------------------------------------------------------------------


def _fields_in(kind: str, version: int) -> tuple[q.Field, ...]:
    return tuple(f for f in q.fields_of(kind) if f.since <= version)


def parse_questionnaire_name(name: str) -> tuple[str, int] | None:
    """``post_workout-v2`` -> (kind, version); None for an unknown questionnaire or version."""
    match = _QUESTIONNAIRE_NAME.match(name)
    if match is None or match["kind"] not in q.KINDS:
        return None
    version = int(match["version"])
    if not 1 <= version <= q.QUESTIONNAIRE_VERSION:
        return None
    return match["kind"], version


def _item(field: q.Field, by_name: dict[str, q.Field]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": field.fhir_code,
        "code": _field_code(field)["coding"],
        "text": field.wording,
        "required": field.required,
    }
    if field.type == q.INT:
        item["type"] = "integer"
        item["extension"] = [
            {"url": MIN_VALUE, "valueInteger": field.min_value},
            {"url": MAX_VALUE, "valueInteger": field.max_value},
        ]
    elif field.type == q.BOOL:
        item["type"] = "boolean"
    elif field.type == q.TEXT:
        item["type"] = "text"
        if field.max_length is not None:
            item["maxLength"] = field.max_length
    else:
        item["type"] = "choice"
        options: list[dict[str, Any]] = [{"valueCoding": _answer_coding(field, code)} for code in field.codes]
        if field.type == q.LIST:
            item["repeats"] = True
            options.append(
                {
                    "extension": [{"url": OPTION_EXCLUSIVE, "valueBoolean": True}],
                    "valueCoding": _answer_coding(field, NONE_CODE),
                }
            )
        item["answerOption"] = options
    if (when := field.applies_when) is not None:
        depends_on = by_name[when.field]
        item["enableWhen"] = [
            {"question": depends_on.fhir_code, "operator": "=", "answerCoding": _answer_coding(depends_on, value)}
            for value in when.values
        ]
        if len(when.values) > 1:
            item["enableBehavior"] = "any"
    return item


def questionnaire_resource(kind: str, version: int) -> dict[str, Any]:
    """The Questionnaire of one kind and version, from the declaration (a version holds the fields it had)."""
    definition = q.questionnaire(kind)
    fields = _fields_in(kind, version)
    by_name = {f.name: f for f in fields}
    return {
        "resourceType": "Questionnaire",
        "id": _fhir_id(kind, f"v{version}"),
        "url": questionnaire_url(kind, version),
        "version": str(version),
        "name": "".join(word.capitalize() for word in re.split(r"[^A-Za-z0-9]+", definition.title)),
        "title": definition.title,
        "status": "active" if version == q.QUESTIONNAIRE_VERSION else "retired",
        "subjectType": ["Patient"],
        "item": [_item(f, by_name) for f in fields],
    }


# The patient's bundle ----------------------------------------------------------------------------------------


def _answers(field: q.Field, value: Any) -> list[dict[str, Any]]:
    if field.type == q.BOOL:
        return [{"valueBoolean": value}]
    if field.type == q.INT:
        return [{"valueInteger": value}]
    if field.type == q.CHOICE:
        return [{"valueCoding": _answer_coding(field, value)}]
    if field.type == q.LIST:
        return [{"valueCoding": _answer_coding(field, code)} for code in value or [NONE_CODE]]
    return [{"valueString": str(value)}]


def _response_items(entry: Entry) -> list[dict[str, Any]]:
    """The answers given: a question not asked (not applicable, or not in that version) has no item."""
    items = []
    for field in _fields_in(entry.kind, entry.questionnaire_version):
        value = getattr(entry, field.name)
        if value is None or (field.type == q.TEXT and not str(value).strip()):
            continue
        items.append({"linkId": field.fhir_code, "answer": _answers(field, value)})
    return items


def _body_site(entry: Entry, name: str) -> dict[str, Any] | None:
    site = _BODY_SITES.get(name)
    if name == "thigh_level":
        site = _THIGH_SIDES.get(entry.thigh_symptoms or "", _LOWER_LIMB)
    if site is None:
        return None
    return {"coding": [{"system": SNOMED, "code": site.code, "display": site.display}], "text": site.display}


def _effective(entry: Entry) -> dict[str, Any]:
    """A post-workout answer is of its moment; a weekly check-in's cover the 7 days up to its day."""
    if entry.kind == q.WEEKLY:
        start = entry.occurred_at - dt.timedelta(days=7)
        return {"effectivePeriod": {"start": start.isoformat(), "end": entry.occurred_at.isoformat()}}
    return {"effectiveDateTime": entry.occurred_at.isoformat()}


_SURVEY: Final = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}]


def _score_quantity(value: Decimal, *, percent: bool = False) -> dict[str, Any]:
    unit = "%" if percent else "{score}"
    return {"value": float(value), "unit": unit, "system": UCUM, "code": unit}


class _BundleBuilder:
    def __init__(self, patient: Patient) -> None:
        self.patient_url = _full_url("Patient", patient.pk)
        self.entries: list[dict[str, Any]] = []

    def add(self, full_url: str, resource: dict[str, Any]) -> None:
        self.entries.append({"fullUrl": full_url, "resource": resource})

    def entry(self, entry: Entry) -> str:
        response_url = _full_url("QuestionnaireResponse", entry.pk)
        self.add(
            response_url,
            {
                "resourceType": "QuestionnaireResponse",
                "id": _fhir_id("entry", entry.pk),
                "questionnaire": questionnaire_url(entry.kind, entry.questionnaire_version),
                "status": "completed",
                "subject": _ref(self.patient_url),
                "authored": entry.submitted_at.isoformat(),
                "item": _response_items(entry),
            },
        )
        item_urls: dict[str, str] = {}
        for field in _fields_in(entry.kind, entry.questionnaire_version):
            value = getattr(entry, field.name)
            if field.type != q.INT or value is None:
                continue
            item_urls[field.name] = url = _full_url("Observation", f"entry-{entry.pk}/{field.name}")
            site = _body_site(entry, field.name)
            self.add(
                url,
                {
                    "resourceType": "Observation",
                    "id": _fhir_id("entry", entry.pk, field.name),
                    "status": "final",
                    "category": _SURVEY,
                    "code": _field_code(field),
                    "subject": _ref(self.patient_url),
                    **_effective(entry),
                    "valueInteger": value,
                    **({"bodySite": site} if site is not None else {}),
                    "derivedFrom": [_ref(response_url)],
                },
            )
        for score in q.scores_of(entry.kind):
            value = getattr(entry, score.name)
            if value is None:
                continue
            coding = [{"system": _system(SELF_ASSESSMENT), "code": score.name, "display": score.label}]
            if score.loinc is not None:
                coding.insert(
                    0, {"system": score.loinc.system, "code": score.loinc.code, "display": score.loinc.display}
                )
            sources = [_ref(response_url), *(_ref(item_urls[i]) for i in score.items if i in item_urls)]
            self.add(
                _full_url("Observation", f"entry-{entry.pk}/{score.name}"),
                {
                    "resourceType": "Observation",
                    "id": _fhir_id("entry", entry.pk, score.name),
                    "status": "final",
                    "category": _SURVEY,
                    "code": {"coding": coding, "text": score.label},
                    "subject": _ref(self.patient_url),
                    **_effective(entry),
                    "valueQuantity": _score_quantity(value),
                    "derivedFrom": sources,
                },
            )
        return response_url

    def outcome(self, score: OutcomeScore) -> None:
        instrument = OutcomeScore.Instrument(score.instrument)
        self.add(
            _full_url("OutcomeScore", score.pk),
            {
                "resourceType": "Observation",
                "id": _fhir_id("outcome", score.pk),
                "status": "final",
                "category": _SURVEY,
                "code": {
                    "coding": [
                        {
                            "system": _system("CodeSystem/outcome-instrument"),
                            "code": score.instrument,
                            "display": instrument.label,
                        }
                    ],
                    "text": instrument.label,
                },
                "subject": _ref(self.patient_url),
                "effectiveDateTime": score.recorded_on.isoformat(),
                "valueQuantity": _score_quantity(score.score, percent=instrument == OutcomeScore.Instrument.ODI),
            },
        )

    def flag(self, alert: Alert, responses: dict[int, str]) -> None:
        closed_at = alert.resolved_at if alert.status == Alert.Status.RESOLVED else alert.cleared_at
        period = {"start": alert.raised_at.isoformat()}
        if alert.status in Alert.CLOSED and closed_at is not None:
            period["end"] = closed_at.isoformat()
        priority, priority_display = _PRIORITY.get(Severity(alert.severity), _PRIORITY[Severity.ROUTINE])
        severity_label = Severity(alert.severity).label
        extensions: list[dict[str, Any]] = [
            {
                "url": FLAG_PRIORITY,
                "valueCodeableConcept": {
                    "coding": [
                        {"system": FLAG_PRIORITY_CODES, "code": priority, "display": priority_display},
                        {
                            "system": _system("CodeSystem/alert-severity"),
                            "code": alert.severity,
                            "display": severity_label,
                        },
                    ],
                    "text": severity_label,
                },
            }
        ]
        evidence_ids = dict.fromkeys(e.get("entry_id") for e in alert.evidence or () if isinstance(e, dict))
        extensions += [
            {"url": FLAG_DETAIL, "valueReference": _ref(responses[pk])} for pk in evidence_ids if pk in responses
        ]
        self.add(
            _full_url("Flag", alert.pk),
            {
                "resourceType": "Flag",
                "id": _fhir_id("alert", alert.pk),
                "extension": extensions,
                "status": "inactive" if alert.status in Alert.CLOSED else "active",
                "category": [{"coding": [{"system": FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}]}],
                "code": {
                    "coding": [
                        {"system": _system("CodeSystem/rules-core"), "code": alert.rule_id, "display": alert.title}
                    ],
                    "text": alert.title,
                },
                "subject": _ref(self.patient_url),
                "period": period,
            },
        )


def _day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def patient_bundle(*, patient: Patient, since: dt.date | None = None, until: dt.date | None = None) -> dict[str, Any]:
    """The Bundle of one patient, optionally limited to the clinic-local days ``since`` .. ``until``.

    Entries by the day they occurred, outcome scores by the day recorded, alerts whose period (raised to
    resolved or cleared, or still open) overlaps the days. Three queries (entries, outcome scores, alerts);
    the patient comes with its clinic.
    """
    tz = patient.clinic.tz
    entries = Entry.objects.filter(patient=patient)
    outcomes = OutcomeScore.objects.filter(patient=patient)
    alerts = Alert.objects.filter(patient=patient)
    if since is not None:
        start = _day_start(since, tz)
        entries = entries.filter(occurred_at__gte=start)
        outcomes = outcomes.filter(recorded_on__gte=since)
        alerts = alerts.filter(~Q(status__in=Alert.CLOSED) | Q(resolved_at__gte=start) | Q(cleared_at__gte=start))
    if until is not None:
        end = _day_start(until + dt.timedelta(days=1), tz)
        entries = entries.filter(occurred_at__lt=end)
        outcomes = outcomes.filter(recorded_on__lte=until)
        alerts = alerts.filter(raised_at__lt=end)

    builder = _BundleBuilder(patient)
    builder.add(
        builder.patient_url,
        {
            "resourceType": "Patient",
            "id": _fhir_id("patient", patient.pk),
            "identifier": [{"system": _system("caseload-reference"), "value": patient.caseload_ref}],
            "active": patient.status == Patient.Status.ACTIVE,
            "name": [{"family": patient.last_name, "given": [patient.first_name]}],
            "telecom": [{"system": "email", "value": patient.email}],
            **({"birthDate": patient.birth_date.isoformat()} if patient.birth_date else {}),
        },
    )
    responses = {entry.pk: builder.entry(entry) for entry in entries.order_by("occurred_at", "id")}
    for score in outcomes.order_by("recorded_on", "id"):
        builder.outcome(score)
    for alert in alerts.order_by("raised_at", "id"):
        builder.flag(alert, responses)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
        "entry": builder.entries,
    }
