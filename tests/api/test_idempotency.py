"""POST /api/v1/assessments/ with an Idempotency-Key: a repeat replays the stored entry and creates nothing."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from assessments.models import Entry, RedFlagReport
from assessments.services import assessment_submit, submission_fingerprint
from tests.api.factories import post_workout_answers, weekly_answers
from tests.api.helpers import ASSESSMENTS, client_for, errors


def post(client: APIClient, body: dict[str, Any], key: str | None) -> Any:
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(ASSESSMENTS, body, format="json", **headers)


def body_of(**answers: Any) -> dict[str, Any]:
    """A post-workout submission, backdated as an offline report sent later."""
    occurred = (timezone.now() - dt.timedelta(days=3)).replace(microsecond=0).isoformat()
    return {"kind": "post_workout", "occurred_at": occurred, "answers": post_workout_answers(**answers)}


def test_repeat_with_the_same_key_replays_the_entry_and_creates_nothing(
    patient_api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    key = str(uuid.uuid4())
    body = body_of(safety_screen=["bladder_change"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = post(patient_api, body, key)
        again = post(patient_api, body, key)

    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    assert again.status_code == 200, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()  # the entry and its advice, as the first answer gave them
    assert any(a["level"] == "urgent" for a in again.json()["advice"])
    entry = Entry.objects.get()
    assert (entry.pk, entry.idempotency_key) == (first.json()["id"], key)
    assert entry.occurred_at == dt.datetime.fromisoformat(body["occurred_at"])  # kept as sent
    assert len(callbacks) == 1  # one scan published: the replay schedules nothing


def test_replay_costs_two_queries(patient_api: APIClient, django_assert_num_queries: Any) -> None:
    key = str(uuid.uuid4())
    body = body_of()
    assert post(patient_api, body, key).status_code == 201
    # 1. the token with its user, patient, clinic and enrollment; 2. the entry stored with this key
    with django_assert_num_queries(2):
        assert post(patient_api, body, key).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda b: {**b, "kind": "weekly", "answers": weekly_answers()}, id="kind"),
        pytest.param(lambda b: {**b, "answers": {**b["answers"], "back_pain_now": 7}}, id="answers"),
        pytest.param(lambda b: {k: v for k, v in b.items() if k != "occurred_at"}, id="occurred_at"),
    ],
)
def test_same_key_with_a_different_body_is_a_conflict(patient_api: APIClient, change: Any) -> None:
    key = str(uuid.uuid4())
    body = body_of()
    assert post(patient_api, body, key).status_code == 201

    response = post(patient_api, change(body), key)

    assert response.status_code == 409, response.content
    assert errors(response) == [("idempotency_key", "reused")]
    assert Entry.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 101, "has space", "slash/key", "ünïcode", "key.with.dots"])
def test_malformed_key_is_refused(patient_api: APIClient, key: str) -> None:
    response = post(patient_api, body_of(), key)

    assert response.status_code == 400, response.content
    assert errors(response) == [("idempotency_key", "invalid")]
    assert not Entry.objects.exists()


def test_longest_key_and_every_allowed_character_are_accepted(patient_api: APIClient) -> None:
    for key in ["a", "AZaz09_-" * 12 + "abcd"]:
        assert post(patient_api, body_of(), key).status_code == 201
    assert Entry.objects.count() == 2


def test_malformed_key_does_not_drop_a_red_flag(patient_api: APIClient) -> None:
    response = post(patient_api, body_of(safety_screen=["saddle_numbness"]), "not a key")

    assert errors(response) == [("idempotency_key", "invalid")]
    assert response.json()["therapist_notified"] is True
    assert RedFlagReport.objects.get().safety_screen == ["saddle_numbness"]


def test_without_a_key_every_post_is_a_new_entry(patient_api: APIClient) -> None:
    body = body_of()
    assert [post(patient_api, body, None).status_code for _ in range(2)] == [201, 201]
    assert Entry.objects.count() == 2
    assert not Entry.objects.filter(idempotency_key__isnull=False).exists()


def test_another_patients_use_of_the_same_key_is_independent(world: Any, patient_api: APIClient) -> None:
    key = str(uuid.uuid4())
    body = body_of()
    mine = post(patient_api, body, key)
    theirs = post(client_for(world.other_patient.user), body_of(back_pain_now=6), key)

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert Entry.objects.get(pk=theirs.json()["id"]).patient == world.other_patient
    # And the replay of each answers only their own entry.
    assert post(patient_api, body, key).json()["id"] == mine.json()["id"]


def test_losing_the_race_on_the_unique_key_answers_the_winners_entry(
    world: Any, patient_api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    """The INSERT of a request that found no entry for its key, then lost to a concurrent one, replays."""
    key = str(uuid.uuid4())
    body = body_of()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = post(patient_api, body, key)
        # As the second request would after its lookup missed: straight to the INSERT, inside the test's
        # transaction (the savepoint keeps it usable).
        lost = assessment_submit(
            patient=world.patient,
            kind="post_workout",
            answers=body["answers"],
            occurred_at=dt.datetime.fromisoformat(body["occurred_at"]),
            idempotency_key=key,
            fingerprint=submission_fingerprint(body),
        )

    assert lost.replayed
    assert lost.entry.pk == first.json()["id"]
    assert Entry.objects.count() == 1
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgres")  # two writers at once: SQLite locks the table instead of racing
def test_two_concurrent_posts_with_one_key_store_one_entry(world: Any) -> None:
    key = str(uuid.uuid4())
    body = body_of()
    clients = [client_for(world.patient.user) for _ in range(2)]
    start = threading.Barrier(2)
    statuses: list[int] = []
    ids: list[int] = []

    def submit(client: APIClient) -> None:
        try:
            start.wait()
            response = post(client, body, key)
            statuses.append(response.status_code)
            ids.append(response.json()["id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(statuses) == [200, 201]
    assert len(set(ids)) == 1
    assert list(Entry.objects.values_list("pk", flat=True)) == ids[:1]


def test_refused_red_flag_submission_sent_again_stores_one_report(
    patient_api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    key = str(uuid.uuid4())
    body = body_of(safety_screen=["bowel_change"], back_pain_now=11)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = post(patient_api, body, key)
        again = post(patient_api, body, key)

    assert (first.status_code, again.status_code) == (400, 400)
    assert errors(again) == errors(first) == [("answers.back_pain_now", "max_value")]
    assert again.json()["advice"] == first.json()["advice"]
    assert again.json()["therapist_notified"] is True
    report = RedFlagReport.objects.get()
    assert (report.idempotency_key, report.safety_screen) == (key, ["bowel_change"])
    assert len(callbacks) == 1  # one scan, hence one alert and one email to the therapist


def test_new_red_flags_under_a_reused_key_are_still_stored(patient_api: APIClient) -> None:
    key = str(uuid.uuid4())
    post(patient_api, body_of(safety_screen=["bowel_change"], back_pain_now=11), key)

    response = post(patient_api, body_of(safety_screen=["bowel_change", "saddle_numbness"], back_pain_now=11), key)

    assert response.status_code == 400
    assert response.json()["therapist_notified"] is True
    assert sorted(map(len, RedFlagReport.objects.values_list("safety_screen", flat=True))) == [1, 2]


def test_corrected_submission_with_the_key_of_a_refused_one_is_stored(patient_api: APIClient) -> None:
    key = str(uuid.uuid4())
    assert post(patient_api, body_of(back_pain_now=11), key).status_code == 400

    response = post(patient_api, body_of(back_pain_now=4), key)

    assert response.status_code == 201, response.content
    assert Entry.objects.get().idempotency_key == key
