"""Fixtures of the portal API tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.api.helpers import client_for
from tests.conftest import skip_or_fail


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_redis(tmp_path: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of the test's own on a free port (the shared one is never stopped); ``.port`` is set."""
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    process.port = port  # type: ignore[attr-defined]
    yield process
    os.kill(process.pid, signal.SIGCONT) if process.poll() is None else None
    process.kill()
    process.wait()
