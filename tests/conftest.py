"""Persona fixtures and service gates shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test.utils import override_settings

from patients.models import Clinic, Patient, Therapist
from programs.builtin import ensure_built_in_programs
from programs.models import Exercise, Program
from tests.factories import (
    ClinicFactory,
    EnrollmentFactory,
    PortalPatientFactory,
    TherapistFactory,
    UserFactory,
)

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip on a bare machine; fail when CI promised the services (REQUIRE_SERVICES=1)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def require_postgres(settings: Any) -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        skip_or_fail("DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def require_redis(settings: Any) -> str:
    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith("redis"):
        skip_or_fail("CELERY_BROKER_URL does not point at Redis")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at {url} is not reachable: {exc}")
    return url


@pytest.fixture(autouse=True, scope="session")
def _cache_per_worker() -> Iterator[None]:
    """Under pytest-xdist, each worker its own Redis database: every test clears the cache (FLUSHDB), which
    would otherwise wipe the throttle counts another worker's test is in the middle of.

    Worker gwN takes database 15 - N, counting down from the last of Redis's 16, away from the low numbers
    the broker and the cache are given (.ci/run: 0 and 1).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    if not worker.startswith("gw") or not location.startswith("redis"):
        yield
        return
    parts = urlsplit(location)
    caches = {**settings.CACHES}
    caches["default"] = {**caches["default"], "LOCATION": urlunsplit(parts._replace(path=f"/{15 - int(worker[2:])}"))}
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True)
def _isolated_state(settings: Any, tmp_path: Path) -> None:
    """Each test gets an empty cache (throttles, lockouts) and its own outbox folder.

    Passwords are hashed with MD5 here: Argon2 costs ~50 ms a password and the personas alone make a dozen
    users. The production hasher list is checked by tests/clinic/test_settings.py in a subprocess.
    """
    cache.clear()
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    """Two clinics and the people of both, as the permission tests need them."""

    clinic: Clinic
    other_clinic: Clinic
    therapist: Therapist  # has `patient` and `other_patient` on the caseload
    colleague: Therapist  # same clinic, other caseload
    outsider: Therapist  # therapist of the other clinic
    clinic_admin: Therapist  # clinic administrator of `clinic`
    patient: Patient
    other_patient: Patient  # same clinic, same therapist
    colleague_patient: Patient  # same clinic, the colleague's caseload
    foreign_patient: Patient  # the other clinic


@pytest.fixture
def world(db: None) -> World:
    # The built-in programs come from a data migration; a transactional test run earlier in this process
    # flushed every table, so they are put back (idempotent).
    ensure_built_in_programs(Program, Exercise)
    clinic = ClinicFactory(name="Riverside", timezone="Europe/London")
    other_clinic = ClinicFactory(name="Hilltop", timezone="America/New_York")
    therapist = TherapistFactory(clinic=clinic, display_name="Jane Roe, PT, DPT")
    colleague = TherapistFactory(clinic=clinic, display_name="Sam Lee, PT")
    outsider = TherapistFactory(clinic=other_clinic, display_name="Olga Out, PT")
    clinic_admin = TherapistFactory(clinic=clinic, display_name="Alex Admin, PT", is_clinic_admin=True)
    patient = PortalPatientFactory(therapist=therapist, first_name="Maria", last_name="Lopez")
    other_patient = PortalPatientFactory(therapist=therapist, first_name="Tom", last_name="Becker")
    colleague_patient = PortalPatientFactory(therapist=colleague, first_name="Lena", last_name="Schulz")
    foreign_patient = PortalPatientFactory(therapist=outsider, first_name="Otto", last_name="Far")
    for p in (patient, other_patient, colleague_patient, foreign_patient):
        EnrollmentFactory(patient=p)
    return World(
        clinic,
        other_clinic,
        therapist,
        colleague,
        outsider,
        clinic_admin,
        patient,
        other_patient,
        colleague_patient,
        foreign_patient,
    )


@pytest.fixture
def superuser(db: None) -> Any:
    return UserFactory(email="root@example.test", is_staff=True, is_superuser=True)


@pytest.fixture
def user_model() -> Any:
    return get_user_model()
