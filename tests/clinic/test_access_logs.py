"""No health information in access logs: request lines carry paths, never query strings (issue 11, finding 7).

Both web servers run for real, as subprocesses: gunicorn with the project's config (docker-compose, the image)
and Django's development server (`make run`). An admin search and an API query carry a sentinel surname; the
server's whole output is then searched for it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = "Zqxsentinelname"
PATHS = (
    f"/admin/patients/patient/?q={SENTINEL}",
    f"/api/v1/alerts/?search={SENTINEL}",
    f"/health/?who={SENTINEL}",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch_all(port: int) -> list[int]:
    statuses = []
    for path in PATHS:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Referer": f"http://x/?q={SENTINEL}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
                statuses.append(response.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    return statuses


def wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(150):
        if process.poll() is not None:
            raise AssertionError(f"the server stopped: {process.communicate()[0].decode()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the server did not start")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            ["-m", "gunicorn", "-c", "python:clinic.gunicorn_conf", "clinic.wsgi:application", "--bind"], id="gunicorn"
        ),
        pytest.param(["manage.py", "runserver", "--noreload", "--skip-checks"], id="runserver"),
    ],
)
def test_request_lines_are_logged_without_their_query_strings(command: list[str], tmp_path: Path) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, *command, address], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_until_up(port, process)
        statuses = fetch_all(port)
        time.sleep(0.5)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()

    assert len(statuses) == len(PATHS)
    assert "/admin/patients/patient/" in output  # the requests were logged ...
    assert "/health/" in output
    assert SENTINEL not in output  # ... with their paths only
