"""GET /api/v1/questionnaires/: the questionnaires' definition for clients, from the one declaration."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from assessments import questionnaires as q
from assessments.rules import R01_PATIENT_ADVICE, R02_PATIENT_ADVICE
from tests.api.factories import post_workout_answers, weekly_answers
from tests.api.helpers import ASSESSMENTS, client_for, errors

QUESTIONNAIRES = "/api/v1/questionnaires/"
FIELD_KEYS = {
    "name", "type", "label", "wording", "group", "min", "max", "max_length", "choices", "required", "applies_when",
    "subset_of", "red_flag",
}  # fmt: skip


def test_anonymous_client_gets_both_questionnaires_with_every_declared_field(api: APIClient) -> None:
    response = api.get(QUESTIONNAIRES)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"questionnaires", "red_flag_advice"}
    assert [x["kind"] for x in body["questionnaires"]] == ["post_workout", "weekly"]
    for listed in body["questionnaires"]:
        declared = q.questionnaire(listed["kind"])
        assert (listed["title"], listed["version"]) == (declared.title, declared.version) == (declared.title, 2)
        assert set(listed) == {"kind", "title", "version", "fields"}
        assert [f["name"] for f in listed["fields"]] == [f.name for f in declared.fields]
        for field, f in zip(listed["fields"], declared.fields, strict=True):
            assert set(field) == FIELD_KEYS
            # Every declared choice is offered, in order; the values themselves are checked by hand below.
            assert [c["code"] for c in field["choices"]] == [c.code for c in f.choices]


def test_definition_values_of_a_few_fields(api: APIClient) -> None:
    """Spot checks written out by hand, so that a bug shared by the view and its declaration-driven test shows."""
    body = api.get(QUESTIONNAIRES).json()
    fields = {x["kind"]: {f["name"]: f for f in x["fields"]} for x in body["questionnaires"]}
    pain = fields["post_workout"]["back_pain_now"]
    assert (pain["type"], pain["min"], pain["max"], pain["required"], pain["group"]) == ("int", 0, 10, True, "pain")
    thigh_level = fields["post_workout"]["thigh_level"]
    assert thigh_level["applies_when"] == {
        "field": "thigh_symptoms",
        "values": ["both", "left", "right"],
        "text": "thigh_symptoms is not none",
    }
    assert fields["post_workout"]["note"]["max_length"] == 500
    assert fields["post_workout"]["note"]["required"] is False
    unchanged = fields["weekly"]["safety_screen_unchanged"]
    assert (unchanged["subset_of"], unchanged["red_flag"]) == ("safety_screen", False)
    assert fields["weekly"]["systemic_flags"]["red_flag"] is True
    assert fields["weekly"]["safety_screen"]["red_flag"] is True
    assert {"code": "saddle_numbness", "label": q.field_of("weekly", "safety_screen").choices[0].label} in fields[
        "weekly"
    ]["safety_screen"]["choices"]
    assert fields["weekly"]["global_change"]["min"] == -3
    assert [name for kind in fields.values() for name, f in kind.items() if f["red_flag"]] == [
        "safety_screen",
        "systemic_flags",
        "safety_screen",
    ]


def test_red_flag_advice_is_the_text_the_submit_response_gives(world: Any, api: APIClient) -> None:
    advice = api.get(QUESTIONNAIRES).json()["red_flag_advice"]
    assert advice == [
        {"field": "safety_screen", "level": "urgent", "message": R01_PATIENT_ADVICE},
        {"field": "systemic_flags", "level": "urgent", "message": R02_PATIENT_ADVICE},
    ]
    by_field = {a["field"]: {"level": a["level"], "message": a["message"]} for a in advice}
    patient = client_for(world.patient.user)

    screened = patient.post(
        ASSESSMENTS,
        {"kind": "post_workout", "answers": post_workout_answers(safety_screen=["bladder_change"])},
        format="json",
    )
    assert screened.status_code == 201, screened.content
    assert by_field["safety_screen"] in screened.json()["advice"]

    flagged = patient.post(
        ASSESSMENTS, {"kind": "weekly", "answers": weekly_answers(systemic_flags=["fall_or_injury"])}, format="json"
    )
    assert flagged.status_code == 201, flagged.content
    assert by_field["systemic_flags"] in flagged.json()["advice"]

    # A refused submission's red flags get the same words.
    refused = patient.post(
        ASSESSMENTS,
        {"kind": "weekly", "answers": weekly_answers(systemic_flags=["fever_or_unwell"], psfs_1=11)},
        format="json",
    )
    assert errors(refused) == [("answers.psfs_1", "max_value")]
    assert by_field["systemic_flags"] in refused.json()["advice"]


def test_a_signed_in_patient_gets_the_same_definition(world: Any, api: APIClient) -> None:
    assert client_for(world.patient.user).get(QUESTIONNAIRES).json() == api.get(QUESTIONNAIRES).json()


def test_etag_lets_a_client_revalidate_its_offline_copy(api: APIClient) -> None:
    first = api.get(QUESTIONNAIRES)
    etag = first["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert sorted(first["Cache-Control"].split(", ")) == ["no-cache", "public"]

    again = api.get(QUESTIONNAIRES, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag

    stale = api.get(QUESTIONNAIRES, HTTP_IF_NONE_MATCH='"an-older-definition"')
    assert stale.status_code == 200
    assert stale.json() == first.json()


def test_definition_is_read_without_a_query(db: None, api: APIClient, django_assert_num_queries: Any) -> None:
    # No table is read: the definition is code (anonymous: no token to look up).
    with django_assert_num_queries(0):
        response = api.get(QUESTIONNAIRES)
    assert response.status_code == 200
