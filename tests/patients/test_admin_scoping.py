"""Admin scoping: every persona against every changelist and change page.

A therapist sees only their own clinic's rows; another clinic's row is a 404, exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from patients.models import Clinic, Invitation, Patient, Therapist
from programs.models import Enrollment, OutcomeScore, PhaseTransition
from tests.factories import PASSWORD
from tests.patients.helpers import changeform_data, listed

PERSONAS = ["therapist", "colleague", "outsider", "clinic_admin", "superuser"]
RIVERSIDE_STAFF = {"Jane Roe, PT, DPT", "Sam Lee, PT", "Alex Admin, PT"}
RIVERSIDE_PATIENTS = {"Maria", "Tom", "Lena"}
EVERY_PATIENT = {"Maria", "Tom", "Lena", "Otto"}
BUILT_IN_PROGRAMS = {"Back pain treatment", "Core stabilization", "Maintenance"}  # shared by every clinic
SHARED_PROGRAMS = BUILT_IN_PROGRAMS | {f"Program {name}" for name in EVERY_PATIENT}
FORBIDDEN = None  # the persona's group has no permission on the model: 403


def persona_user(world: Any, superuser: Any, persona: str) -> Any:
    return superuser if persona == "superuser" else getattr(world, persona).user


def by_clinic(riverside: set[str] | None, hilltop: set[str] | None, everyone: set[str] | None) -> dict[str, Any]:
    return {
        "therapist": riverside,
        "colleague": riverside,
        "outsider": hilltop,
        "clinic_admin": riverside,
        "superuser": everyone,
    }


# Each changelist: its URL, how to name a listed row, and which rows each persona sees (FORBIDDEN: 403).
CHANGELISTS: dict[str, tuple[str, Callable[[Any], str], dict[str, set[str] | None]]] = {
    "clinic": (
        "/admin/patients/clinic/",
        lambda c: c.name,
        by_clinic({"Riverside"}, {"Hilltop"}, {"Riverside", "Hilltop"}),
    ),
    "therapist": (
        "/admin/patients/therapist/",
        lambda t: t.display_name,
        by_clinic(RIVERSIDE_STAFF, {"Olga Out, PT"}, {*RIVERSIDE_STAFF, "Olga Out, PT"}),
    ),
    "patient": (
        "/admin/patients/patient/",
        lambda p: p.first_name,
        {  # defaults to the therapist's own caseload; a clinic administrator (no caseload) sees the clinic
            "therapist": {"Maria", "Tom"},
            "colleague": {"Lena"},
            "outsider": {"Otto"},
            "clinic_admin": RIVERSIDE_PATIENTS,
            "superuser": EVERY_PATIENT,
        },
    ),
    "patient, whole clinic": (
        "/admin/patients/patient/?caseload=all",
        lambda p: p.first_name,
        by_clinic(RIVERSIDE_PATIENTS, {"Otto"}, EVERY_PATIENT),
    ),
    "invitation": (
        "/admin/patients/invitation/",
        lambda i: i.patient.first_name,
        {**by_clinic(FORBIDDEN, FORBIDDEN, EVERY_PATIENT), "clinic_admin": RIVERSIDE_PATIENTS},
    ),
    "program": (  # shared: the built-in ones and those of the enrollments (no clinic); and each clinic's own
        "/admin/programs/program/",
        lambda p: p.name,
        by_clinic(
            SHARED_PROGRAMS | {"Riverside own"},
            SHARED_PROGRAMS | {"Hilltop own"},
            SHARED_PROGRAMS | {"Riverside own", "Hilltop own"},
        ),
    ),
    "ruleset": (  # the built-in versions and the clinic's own copies, for clinic administrators only
        "/admin/assessments/ruleset/",
        lambda r: f"{r.clinic.name if r.clinic else 'built in'} v{r.version}",
        {
            **by_clinic(FORBIDDEN, FORBIDDEN, {"built in v2", "Riverside v2", "Hilltop v2"}),
            "clinic_admin": {"built in v2", "Riverside v2"},
        },
    ),
    "enrollment": (
        "/admin/programs/enrollment/",
        lambda e: e.patient.first_name,
        by_clinic(RIVERSIDE_PATIENTS, {"Otto"}, EVERY_PATIENT),
    ),
    "phase transition": (
        "/admin/programs/phasetransition/",
        lambda t: t.enrollment.patient.first_name,
        by_clinic(RIVERSIDE_PATIENTS, {"Otto"}, EVERY_PATIENT),
    ),
    "outcome score": (
        "/admin/programs/outcomescore/",
        lambda s: s.patient.first_name,
        by_clinic(RIVERSIDE_PATIENTS, {"Otto"}, EVERY_PATIENT),
    ),
}


def seen_by(client: Any, user: Any, url: str, name: Callable[[Any], str]) -> set[str] | None:
    """The rows a user sees on a changelist, or FORBIDDEN for a 403."""
    client.force_login(user)
    response = client.get(url)
    if response.status_code == 403:
        return FORBIDDEN
    assert response.status_code == 200, (url, response.status_code)
    return {name(row) for row in listed(response)}


@pytest.mark.parametrize("changelist", list(CHANGELISTS))
def test_changelist_lists_only_the_personas_clinic(
    client: Any, world: Any, superuser: Any, clinic_records: None, changelist: str
) -> None:
    url, name, expected = CHANGELISTS[changelist]

    seen = {persona: seen_by(client, persona_user(world, superuser, persona), url, name) for persona in PERSONAS}

    assert seen == expected


def test_patient_changelist_offers_my_caseload_and_whole_clinic(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.get("/admin/patients/patient/")

    content = response.content.decode()
    assert "My caseload" in content
    assert "?caseload=all" in content
    assert "Whole clinic" in content


@pytest.mark.parametrize(
    ("term", "found"),
    [("Lena", {"Lena"}), ("schulz", {"Lena"}), ("Otto", set()), ("Far", set()), ("", RIVERSIDE_PATIENTS)],
)
def test_patient_search_stays_within_the_clinic(client: Any, world: Any, term: str, found: set[str]) -> None:
    client.force_login(world.therapist.user)

    response = client.get("/admin/patients/patient/", {"caseload": "all", "q": term})

    assert {p.first_name for p in listed(response)} == found


def test_patient_search_by_another_clinics_caseload_ref_finds_nothing(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.get("/admin/patients/patient/", {"caseload": "all", "q": world.foreign_patient.caseload_ref})

    assert listed(response) == []


@pytest.mark.parametrize(
    "url",
    [
        "/admin/patients/patient/",
        "/admin/patients/clinic/",
        "/admin/programs/enrollment/",
        "/admin/programs/outcomescore/",
        "/admin/",
    ],
)
def test_anonymous_visitor_is_sent_to_the_admin_login(client: Any, world: Any, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_patient_portal_user_cannot_use_the_admin(client: Any, world: Any) -> None:
    client.force_login(world.patient.user)

    assert client.get("/admin/").status_code == 302
    response = client.get(f"/admin/patients/patient/{world.patient.pk}/change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_patient_portal_user_cannot_log_into_the_admin(client: Any, world: Any) -> None:
    response = client.post("/admin/login/?next=/admin/", {"username": world.patient.email, "password": PASSWORD})

    assert response.status_code == 200
    assert "correct username and password for a staff account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_therapist_logs_into_the_admin_with_email_and_password(client: Any, world: Any) -> None:
    response = client.post("/admin/login/?next=/admin/", {"username": world.therapist.user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert client.get("/admin/patients/patient/").status_code == 200


# --- Change pages ----------------------------------------------------------------------------------

MISSING_ID = 987654321


def change_url(obj: Any) -> str:
    opts = obj._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/"


def foreign_rows(world: Any) -> dict[str, Any]:
    patient = world.foreign_patient
    enrollment = patient.enrollments.get()
    return {
        "patient": patient,
        "enrollment": enrollment,
        "outcome score": patient.outcome_scores.get(),
        "phase transition": enrollment.transitions.get(),
        "therapist": world.outsider,
        "clinic": world.other_clinic,
    }


MODELS = {
    "patient": Patient,
    "enrollment": Enrollment,
    "outcome score": OutcomeScore,
    "phase transition": PhaseTransition,
    "therapist": Therapist,
    "clinic": Clinic,
}


@pytest.mark.parametrize("model", list(MODELS))
def test_another_clinics_change_page_is_a_404_like_a_missing_one(
    client: Any, world: Any, clinic_records: None, model: str
) -> None:
    foreign = foreign_rows(world)[model]
    opts = MODELS[model]._meta
    missing_url = f"/admin/{opts.app_label}/{opts.model_name}/{MISSING_ID}/change/"

    for persona in ("therapist", "colleague", "clinic_admin"):
        client.force_login(getattr(world, persona).user)
        foreign_response = client.get(change_url(foreign))
        missing_response = client.get(missing_url)

        assert foreign_response.status_code == missing_response.status_code == 404, persona
        assert foreign_response.content.replace(str(foreign.pk).encode(), b"ID") == missing_response.content.replace(
            str(MISSING_ID).encode(), b"ID"
        )


@pytest.mark.parametrize("suffix", ["change/", "history/", "auditlog/", "transition/", "delete/"])
def test_every_page_of_another_clinics_patient_is_a_404(
    client: Any, world: Any, clinic_records: None, suffix: str
) -> None:
    client.force_login(world.clinic_admin.user)

    response = client.get(f"/admin/patients/patient/{world.foreign_patient.pk}/{suffix}")

    assert response.status_code == 404


def test_posting_to_another_clinics_patient_is_a_404_and_changes_nothing(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.post(change_url(world.foreign_patient), {"first_name": "Hacked", "last_name": "X"})

    assert response.status_code == 404
    world.foreign_patient.refresh_from_db()
    assert world.foreign_patient.first_name == "Otto"


def test_another_clinics_invitation_is_a_404_for_a_clinic_admin(client: Any, world: Any, clinic_records: None) -> None:
    client.force_login(world.clinic_admin.user)
    foreign = Invitation.objects.get(patient=world.foreign_patient)

    assert client.get(change_url(foreign)).status_code == 404
    assert client.get(change_url(Invitation.objects.get(patient=world.patient))).status_code == 200


@pytest.mark.parametrize("persona", ["therapist", "colleague", "clinic_admin"])
def test_own_clinics_patients_open_for_every_therapist_of_the_clinic(client: Any, world: Any, persona: str) -> None:
    client.force_login(getattr(world, persona).user)

    for patient in (world.patient, world.colleague_patient):
        assert client.get(change_url(patient)).status_code == 200


def test_superuser_opens_every_clinics_patient(client: Any, world: Any, superuser: Any) -> None:
    client.force_login(superuser)

    assert client.get(change_url(world.patient)).status_code == 200
    assert client.get(change_url(world.foreign_patient)).status_code == 200


# --- Choice lists --------------------------------------------------------------------------------


def test_patient_form_offers_only_the_clinics_therapists(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.get(change_url(world.patient))

    form = response.context["adminform"].form
    assert "clinic" not in form.fields
    assert set(form.fields["therapist"].queryset) == {world.therapist, world.colleague, world.clinic_admin}


def test_outcome_score_form_offers_only_the_clinics_patients(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.get("/admin/programs/outcomescore/add/")

    choices = set(response.context["adminform"].form.fields["patient"].queryset)
    assert choices == {world.patient, world.other_patient, world.colleague_patient}


def test_therapist_form_offers_only_the_clinic_administrators_clinic(client: Any, world: Any) -> None:
    client.force_login(world.clinic_admin.user)

    response = client.get(change_url(world.colleague))

    assert list(response.context["adminform"].form.fields["clinic"].queryset) == [world.clinic]


def test_therapist_cannot_choose_another_clinics_patient_for_an_outcome_score(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = client.post(
        "/admin/programs/outcomescore/add/",
        {"patient": world.foreign_patient.pk, "instrument": "ODI", "score": "20", "recorded_on": "2026-01-05"},
    )

    assert response.status_code == 200
    assert "patient" in response.context["adminform"].form.errors
    assert not OutcomeScore.objects.exists()


# --- Adding and editing patients -----------------------------------------------------------------


def add_patient(client: Any, **fields: Any) -> Any:
    page = client.get("/admin/patients/patient/add/")
    return client.post("/admin/patients/patient/add/", changeform_data(page, status="active", **fields))


def test_patient_added_by_a_therapist_joins_the_therapists_clinic(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = add_patient(
        client, therapist=world.colleague.pk, first_name="Nora", last_name="Quinn", email="Nora.Q@Example.test"
    )

    assert response.status_code == 302
    patient = Patient.objects.get(email="nora.q@example.test")
    assert (patient.clinic, patient.therapist) == (world.clinic, world.colleague)


def test_patient_with_an_email_of_another_clinic_can_be_added(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)

    response = add_patient(
        client, therapist=world.therapist.pk, first_name="Otto", last_name="Near", email=world.foreign_patient.email
    )

    assert response.status_code == 302
    assert Patient.objects.filter(email=world.foreign_patient.email).count() == 2


@pytest.mark.parametrize("persona", ["therapist", "superuser"])
def test_adding_a_patient_with_an_email_already_in_the_clinic_is_a_form_error(
    client: Any, world: Any, superuser: Any, persona: str
) -> None:
    client.force_login(persona_user(world, superuser, persona))
    extra = {"clinic": world.clinic.pk} if persona == "superuser" else {}

    response = add_patient(
        client,
        therapist=world.therapist.pk,
        first_name="Lena",
        last_name="Again",
        email=world.colleague_patient.email.upper(),
        **extra,
    )

    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors["email"])
    assert Patient.objects.filter(clinic=world.clinic).count() == 3


def test_changing_a_patients_email_to_one_already_in_the_clinic_is_a_form_error(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)
    url = change_url(world.patient)

    response = client.post(url, changeform_data(client.get(url), email=world.colleague_patient.email))

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["email"]
    world.patient.refresh_from_db()
    assert world.patient.email != world.colleague_patient.email


def test_staff_are_not_added_in_the_admin_but_with_the_create_therapist_command(client: Any, world: Any) -> None:
    client.force_login(world.clinic_admin.user)

    assert client.get("/admin/patients/therapist/add/").status_code == 403
    assert client.get(change_url(world.colleague)).status_code == 200
