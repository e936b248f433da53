"""The therapist's entry pages in the admin, built from the questionnaires' declaration.

An entry's page shows its own questionnaire only, grouped, each answer under the patient's wording and in the
patient's words (choice labels, not codes); entries stay read-only; the changelist stays narrow and its
query count does not grow with the rows.
"""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessments import questionnaires as q
from assessments.models import Entry
from tests.api.factories import make_entry

CHANGELIST = "/admin/assessments/entry/"


@pytest.fixture
def therapist_client(world: Any) -> Client:
    client = Client()
    client.force_login(world.therapist.user)
    return client


def page(client: Client, entry: Entry) -> str:
    response = client.get(f"{CHANGELIST}{entry.pk}/change/")
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_post_workout_page_shows_its_questions_and_answers_in_words(world: Any, therapist_client: Client) -> None:
    entry = make_entry(
        patient=world.patient,
        session_completed="stopped_symptoms",
        back_pain_now=6,
        thigh_symptoms="left",
        thigh_level=4,
        thigh_stretch_response="no_change",
        thigh_below_knee=True,
        thigh_nerve_qualities=["pins_needles", "numbness"],
        safety_screen=["bladder_change"],
        note="Felt it on the stairs.",
    )
    html = page(therapist_client, entry)

    for f in q.fields_of(q.POST_WORKOUT):
        assert f.wording in html, f.name
    for title in ("Workout", "Pain", "Stiffness", "Neck", "Leg", "Safety screen", "Note"):
        assert f">{title}</h2>" in html, title
    assert "I stopped because of symptoms" in html
    assert "6 / 10" in html
    assert "Yes, on the left" in html
    assert "Does not change" in html
    assert "Pins and needles; Numbness" in html
    assert "Trouble passing urine" in html  # the safety-screen item the patient ticked, in their words
    assert "Felt it on the stairs." in html
    # Choice codes are not shown as answers.
    assert "stopped_symptoms" not in html
    assert "bladder_change" not in html
    # Nothing of the weekly check-in.
    for name in set(q.WEEKLY_FIELDS) - set(q.POST_WORKOUT_FIELDS):
        assert q.field_of(q.WEEKLY, name).wording not in html, name
    assert "PEG score" not in html


def test_weekly_page_shows_its_questions_and_its_scores(world: Any, therapist_client: Client) -> None:
    entry = make_entry(
        patient=world.patient,
        weekly=True,
        peg_pain=7,
        peg_enjoyment=6,
        peg_activity=6,
        morning_stiffness_duration="60_120",
        stiffness_eases_with_movement=True,
        global_change=-2,
        systemic_flags=["fall_or_injury"],
    )
    html = page(therapist_client, entry)

    for f in q.fields_of(q.WEEKLY):
        assert f.wording in html, f.name
    assert "1 to 2 hours" in html
    assert "-2 (from -3 to +3)" in html
    assert "A fall or an injury" in html
    assert ">Scores</h2>" in html
    assert "6.3 / 10" in html  # PEG 7, 6, 6
    for name in set(q.POST_WORKOUT_FIELDS) - set(q.WEEKLY_FIELDS):
        assert q.field_of(q.POST_WORKOUT, name).wording not in html, name


def test_an_answer_that_was_not_asked_is_shown_empty(world: Any, therapist_client: Client) -> None:
    entry = make_entry(patient=world.patient)  # no neck or leg symptoms: their follow-ups were not asked
    html = page(therapist_client, entry)
    assert "Fine, nothing unusual" in html
    assert "None" in html  # an empty safety screen is a recorded negative screen, not a blank


def test_entries_stay_read_only(world: Any, therapist_client: Client) -> None:
    entry = make_entry(patient=world.patient, back_pain_now=2)
    html = page(therapist_client, entry)
    assert 'name="_save"' not in html
    response = therapist_client.post(f"{CHANGELIST}{entry.pk}/change/", {"back_pain_now": 9})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.back_pain_now == 2
    assert therapist_client.get(f"{CHANGELIST}add/").status_code == 403


def test_another_clinics_entry_is_a_404(world: Any, therapist_client: Client) -> None:
    entry = make_entry(patient=world.foreign_patient)
    assert therapist_client.get(f"{CHANGELIST}{entry.pk}/change/").status_code == 404


def test_changelist_stays_narrow_and_its_queries_do_not_grow_with_rows(world: Any, therapist_client: Client) -> None:
    for n in range(5):
        make_entry(patient=world.patient, weekly=n % 2 == 0)
    therapist_client.get(CHANGELIST)  # warm up first-request caches
    with CaptureQueriesContext(connection) as few:
        response = therapist_client.get(CHANGELIST)
    assert response.status_code == 200
    # A handful of columns every entry has, not one per answer.
    assert len(response.context["cl"].list_display) <= 10
    for n in range(20):
        make_entry(patient=world.other_patient, weekly=n % 2 == 0)
    with CaptureQueriesContext(connection) as many:
        assert therapist_client.get(CHANGELIST).status_code == 200
    assert len(many) == len(few)
