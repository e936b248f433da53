"""Fixtures of the portal API tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.api.helpers import client_for


@pytest.fixture(autouse=True)
def _private_file_cache(settings: Any, tmp_path: Path) -> None:
    """The embedded file cache lives in var/, shared with any other run: throttle and lockout counts must not be."""
    default = settings.CACHES["default"]
    if default["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache":
        settings.CACHES = {"default": {**default, "LOCATION": str(tmp_path / "cache")}}


@pytest.fixture
def api() -> APIClient:
    """An anonymous client."""
    return APIClient()


@pytest.fixture
def patient_api(world: Any) -> APIClient:
    """The world's patient, authenticated with a knox token."""
    return client_for(world.patient.user)
