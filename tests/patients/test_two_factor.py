"""Two-factor sign-in for staff (django-otp): required in production, optional in development (issue 11)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients.services import staff_two_factor_setup
from tests.factories import PASSWORD

LOGIN = "/admin/login/?next=/admin/"


def code_now(user: Any) -> str:
    device = TOTPDevice.objects.get(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def sign_in(client: Client, user: Any, token: str = "", device: Any = None) -> Any:
    """The admin login form with django-otp's fields: the device chosen (app or recovery codes) and its code."""
    chosen = device.persistent_id if device is not None else ""
    return client.post(LOGIN, {"username": user.email, "password": PASSWORD, "otp_device": chosen, "otp_token": token})


@pytest.fixture
def required(settings: Any) -> None:
    settings.STAFF_2FA_REQUIRED = True


def test_with_2fa_required_the_password_alone_does_not_sign_in(client: Client, world: Any, required: None) -> None:
    user = world.therapist.user
    staff_two_factor_setup(user=user)

    response = sign_in(client, user)

    assert response.status_code == 200  # the form again, with its error
    assert "otp_token" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_with_2fa_required_the_authenticator_code_signs_in(client: Client, world: Any, required: None) -> None:
    user = world.therapist.user
    staff_two_factor_setup(user=user)

    response = sign_in(client, user, code_now(user), TOTPDevice.objects.get(user=user))

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_recovery_code_works_once(world: Any, required: None, time_machine: Any) -> None:
    user = world.therapist.user
    codes = staff_two_factor_setup(user=user).recovery_codes

    recovery = StaticDevice.objects.get(user=user)
    assert sign_in(Client(), user, codes[0], recovery).status_code == 302
    assert sign_in(Client(), user, codes[0], recovery).status_code == 200  # used up
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=5))  # django-otp slows retries after a failure
    assert sign_in(Client(), user, codes[1], recovery).status_code == 302


def test_a_session_not_verified_by_a_device_reaches_no_admin_page(client: Client, world: Any, required: None) -> None:
    client.force_login(world.therapist.user)

    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/assessments/alert/").status_code == 302


def test_without_2fa_required_the_password_signs_in(client: Client, world: Any, settings: Any) -> None:
    settings.STAFF_2FA_REQUIRED = False

    response = sign_in(client, world.therapist.user)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_command_prints_the_key_and_ten_recovery_codes_and_replaces_the_old_ones(world: Any) -> None:
    user = world.therapist.user
    old = staff_two_factor_setup(user=user)
    out = StringIO()

    call_command("staff_2fa", user.email.upper(), stdout=out)

    text = out.getvalue()
    assert "otpauth://totp/" in text
    codes = re.findall(r"^  (\w{8})$", text, flags=re.MULTILINE)
    assert len(codes) == 10
    assert not set(codes) & set(old.recovery_codes)
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_patients_get_no_second_factor(world: Any) -> None:
    with pytest.raises(Exception, match="staff"):
        staff_two_factor_setup(user=world.patient.user)


def test_production_requires_2fa_by_default() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_ENV": "production", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "clinic.example"}
    env.pop("STAFF_2FA_REQUIRED", None)
    code = "import django; django.setup(); from django.conf import settings; print(settings.STAFF_2FA_REQUIRED)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**env, "DJANGO_SETTINGS_MODULE": "clinic.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "True", result.stderr[-2000:]
