"""A new password revokes every API token of the user and ends their other sessions (issue 11, finding 5)."""

from __future__ import annotations

from typing import Any

from django.test import Client
from knox.models import AuthToken

from tests.api.helpers import client_for
from tests.factories import PASSWORD

ME = "/api/v1/me/"
NEW = "Quiet-River-Stone-91"


def test_a_new_password_revokes_every_token_of_the_patient(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    user = world.patient.user
    phone, laptop = client_for(user), client_for(user)
    other = client_for(world.other_patient.user)
    assert phone.get(ME).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        user.set_password("a-new-long-passphrase-42")
        user.save()

    assert phone.get(ME).status_code == 401
    assert laptop.get(ME).status_code == 401
    assert AuthToken.objects.filter(user=user).count() == 0
    assert other.get(ME).status_code == 200  # another user's tokens stay


def test_a_save_that_keeps_the_password_keeps_the_tokens(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    user = world.patient.user
    api = client_for(user)

    with django_capture_on_commit_callbacks(execute=True):
        user.first_name = "Mara"
        user.save()
        user.save(update_fields=["last_login"])

    assert api.get(ME).status_code == 200


def test_a_staff_password_change_in_the_admin_ends_other_sessions_and_tokens(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    user = world.therapist.user
    api = client_for(user)
    changer, elsewhere = Client(), Client()
    changer.force_login(user)
    elsewhere.force_login(user)
    assert elsewhere.get("/admin/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = changer.post(
            "/admin/password_change/",
            {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        )

    assert response.status_code == 302
    assert api.get("/api/v1/alerts/").status_code == 401
    assert elsewhere.get("/admin/").status_code == 302  # sent to the login page
    assert changer.get("/admin/").status_code == 200  # the session that changed it stays
