"""The questionnaires' definition for clients: what the portal asks, how, and when (no patient data).

Built from the one declaration (assessments/questionnaires.py) and the rules engine's red-flag advice, so the
portal renders, validates and advises with what the API itself validates and answers.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments import questionnaires as q
from assessments import rules
from assessments.serializers import QuestionnairesSerializer
from assessments.services import RED_FLAG_FIELDS

# The fields whose every item is a red flag the patient reports. `safety_screen_unchanged` is not one: it only
# marks items already listed in `safety_screen` (which raises the flag and its advice) as not worse, and may
# lower R-01 from urgent to high; answered alone it reports nothing.
PATIENT_RED_FLAG_FIELDS = tuple(name for name in RED_FLAG_FIELDS if name != "safety_screen_unchanged")


def _field(f: q.Field) -> dict[str, Any]:
    when = f.applies_when
    return {
        "name": f.name,
        "type": f.type,
        "label": f.label,
        "wording": f.wording,
        "group": f.group,
        "min": f.min_value,
        "max": f.max_value,
        "max_length": f.max_length,
        "choices": [{"code": c.code, "label": c.label} for c in f.choices],
        "required": f.required,
        "applies_when": None if when is None else {"field": when.field, "values": list(when.values), "text": when.text},
        "subset_of": f.subset_of,
        "red_flag": f.name in PATIENT_RED_FLAG_FIELDS,
    }


def _advice(field: str) -> dict[str, str]:
    """The advice the submit response gives for any item of a red-flag field (the rules engine's words)."""
    item = q.SAFETY_SCREEN[0] if field == "safety_screen" else q.SYSTEMIC_FLAGS[0]
    screen, flags = ([item], []) if field == "safety_screen" else ([], [item])
    (advice,) = rules.red_flag_advice(screen, flags)
    return {"field": field, "level": advice.level, "message": advice.message}


@functools.cache
def questionnaire_definitions() -> dict[str, Any]:
    """Both questionnaires, fields in the order the patient answers them, and the red-flag advice."""
    questionnaires = [q.questionnaire(kind) for kind in q.KINDS]
    return dict(
        QuestionnairesSerializer(
            {
                "questionnaires": [
                    {"kind": x.kind, "title": x.title, "version": x.version, "fields": [_field(f) for f in x.fields]}
                    for x in questionnaires
                ],
                "red_flag_advice": [_advice(field) for field in PATIENT_RED_FLAG_FIELDS],
            }
        ).data
    )


@functools.cache
def _etag() -> str:
    """Changes only with the definition (a deploy): a client revalidates its offline copy for a 304."""
    body = json.dumps(questionnaire_definitions(), sort_keys=True, separators=(",", ":"))
    return f'"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'


class QuestionnairesView(APIView):
    """Open to anyone: the questionnaires' definition is the same for every clinic and holds no patient data,
    and the portal fetches it before login too, to cache it for offline use."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="The questionnaires' definition",
        description="Every questionnaire the API accepts (`post_workout`, `weekly`), with its fields in the order "
        "the patient answers them: type, wording, range or labelled choices, when a conditional field applies, "
        "which are red flags; and the urgent advice the submit response gives for red-flag answers. The same "
        "definition validates `POST /api/v1/assessments/`. No patient data, no authentication needed. Sent with "
        "an `ETag` and `Cache-Control: no-cache, public`: revalidate with `If-None-Match` for a 304.",
        responses={
            200: QuestionnairesSerializer,
            304: OpenApiResponse(description="Not modified: the client's copy (its `If-None-Match`) is current."),
        },
    )
    @method_decorator(cache_control(public=True, no_cache=True))
    @method_decorator(condition(etag_func=lambda request: _etag()))
    def get(self, request: Request) -> Response:
        """The questionnaires' definition (computed once per process)."""
        return Response(questionnaire_definitions())
