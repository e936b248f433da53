"""The portal API against a bare DRF baseline, measured by alternation in one run (issue 10).

Gunicorn (2 sync workers, the production config) serves the project and, through ``bench.settings``, the bare
baselines of ``bench/bare.py`` on the same entry table. ``wrk`` (8 connections) drives each endpoint in turn,
``--rounds`` times, so that both sides meet the same machine load; the table gives the medians and the
ratio project / bare. The queries per request are counted separately, in-process, with the test client.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic CACHE_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python -m bench.api_ratio [--seconds 8] [--rounds 3] [--patients 40]

- POST: the project's ``POST /api/v1/assessments/`` (token authentication, throttles, the questionnaire's
  validation, the submit service, publishing the scan on commit to an in-process memory broker) against a
  ``CreateAPIView`` inserting a row of the same table. Each wrk request rotates through the patients' tokens
  (the per-user throttle is raised to 10^6/min for the run: its cost is kept, its limit is not in the way).
- List: ``GET /api/v1/assessments/?page_size=50`` of one patient (200 entries) against a ``ListAPIView`` of
  the same 50 rows. The POSTs of both sides go to the other patients, so the listed patient keeps 200 entries
  and every round lists the same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import add_json_option, bench_database_url, create_database, setup_django, wipe, write_json

ROOT = Path(__file__).resolve().parents[1]
RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
ENV = {
    "CELERY_BROKER_URL": "memory://",
    "THROTTLE_USER": "1000000/min",
    "THROTTLE_ANON": "1000000/min",
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "STAFF_2FA_REQUIRED": "false",
    "LOG_LEVEL": "WARNING",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(patients: int) -> tuple[list[str], list[tuple[int, int]]]:
    """Patients with tokens and an enrollment; the first with 200 entries to list: tokens, (patient, enrollment)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from knox.models import AuthToken

    from assessments import questionnaires as q
    from assessments.demo import QUIET_SESSION
    from assessments.models import Entry
    from patients.models import Clinic, Patient, Therapist
    from programs.models import Enrollment, Phase, Program

    wipe()
    users = get_user_model()
    clinic = Clinic.objects.create(name="Ratio clinic", timezone="Europe/London")
    staff = users.objects.create(username="therapist@ratio.test", email="therapist@ratio.test", is_staff=True)
    therapist = Therapist.objects.create(user=staff, clinic=clinic, display_name="Ratio Therapist, PT")
    program = Program.objects.create(name="Core stabilization (ratio bench)", kind=Phase.STABILIZATION)
    today = timezone.localdate()
    tokens, ids = [], []
    for i in range(patients):
        user = users.objects.create(username=f"r{i}@ratio.test", email=f"r{i}@ratio.test")
        patient = Patient.objects.create(
            clinic=clinic, therapist=therapist, first_name="Ratio", last_name=f"Patient {i}", email=user.email,
            caseload_ref=f"CR-R{i:05d}", user=user,
        )  # fmt: skip
        enrolled = Enrollment.objects.create(
            patient=patient, program=program, phase=Phase.STABILIZATION, phase_since=today - timedelta(days=20),
            started_on=today - timedelta(days=40),
        )  # fmt: skip
        tokens.append(AuthToken.objects.create(user=user)[1])
        ids.append((patient.pk, enrolled.pk))
    first = Patient.objects.get(pk=ids[0][0])
    enrollment = first.enrollments.get()
    values = q.column_values(q.POST_WORKOUT, {**{f.name: None for f in q.fields_of(q.POST_WORKOUT)}, **QUIET_SESSION})
    now = timezone.now()
    Entry.objects.bulk_create(
        Entry(patient=first, enrollment=enrollment, phase=Phase.STABILIZATION, kind=q.POST_WORKOUT,
              occurred_at=now - timedelta(hours=3 * n), scanned_at=now, **values)
        for n in range(200)
    )  # fmt: skip
    return tokens, ids


def _columns() -> dict[str, Any]:
    """The stored columns of a quiet post-workout entry (what the project's POST writes)."""
    from assessments import questionnaires as q
    from assessments.demo import QUIET_SESSION

    return q.column_values(q.POST_WORKOUT, {**{f.name: None for f in q.fields_of(q.POST_WORKOUT)}, **QUIET_SESSION})


def _post_body() -> dict[str, Any]:
    from assessments import questionnaires as q
    from assessments.demo import QUIET_SESSION

    return {"kind": "post_workout", "answers": {**{f.name: None for f in q.fields_of(q.POST_WORKOUT)}, **QUIET_SESSION}}


def _lua(path: Path, *, method: str, bodies: list[str], headers: list[dict[str, str]]) -> None:
    """A wrk script that cycles through request bodies and headers (one per patient)."""
    lines = ["local i = 0", f'local method = "{method}"', "local bodies = {"]
    lines += [f"  {json.dumps(b)}," for b in bodies]
    lines += ["}", "local headers = {"]
    lines += ["  {" + ", ".join(f'["{k}"] = {json.dumps(v)}' for k, v in h.items()) + "}," for h in headers]
    lines += [
        "}",
        "request = function()",
        "  i = i % #headers + 1",
        "  return wrk.format(method, nil, headers[i], bodies[(i - 1) % #bodies + 1])",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n")


def _wrk(url: str, script: Path, seconds: int) -> tuple[float, int]:
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    rate = RATE.search(out)
    errors = NON_2XX.search(out)
    return (float(rate.group(1)) if rate else 0.0), (int(errors.group(1)) if errors else 0)


def _queries(method: str, path: str, body: Any, token: str | None) -> int:
    """Queries of one request, in this process (the test client: the whole request path, no socket)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    send = client.post if method == "POST" else client.get
    send(path, body, format="json") if method == "POST" else send(path)  # warm: first-request caches
    with CaptureQueriesContext(connection) as captured:
        response = send(path, body, format="json") if method == "POST" else send(path)
    assert response.status_code < 300, (path, response.status_code, response.content[:300])
    return len(captured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8, help="length of each wrk run (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of every endpoint (default 3)")
    parser.add_argument("--patients", type=int, default=40, help="patients (tokens) the POSTs rotate through")
    add_json_option(parser)
    args = parser.parse_args()

    url = bench_database_url("clinic_bench_ratio")
    create_database(url)
    os.environ.update(ENV)
    setup_django(url, DJANGO_SETTINGS_MODULE="bench.settings")
    tokens, ids = _prepare(args.patients)
    body = _post_body()

    bare_bodies = [
        json.dumps({"patient": pid, "enrollment": eid, "phase": "stabilization", "kind": "post_workout",
                    "occurred_at": "2026-01-01T10:00:00Z", **_columns()})
        for pid, eid in ids[1:]
    ]  # fmt: skip
    queries = {
        "POST": (_queries("POST", "/api/v1/assessments/", body, tokens[1]),
                 _queries("POST", "/bench/bare/entries/", json.loads(bare_bodies[1]), None)),
        "List": (_queries("GET", "/api/v1/assessments/?page_size=50", None, tokens[0]),
                 _queries("GET", f"/bench/bare/entries/list/?patient={ids[0][0]}", None, None)),
    }  # fmt: skip

    port = _free_port()
    log = Path(tempfile.gettempdir()) / "bench-api-ratio-gunicorn.log"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:clinic.gunicorn_conf", "--workers", "2",
             "--bind", f"127.0.0.1:{port}", "clinic.wsgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit(f"gunicorn did not start; see {log}")
                time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp:
            scripts: dict[str, tuple[str, str, list[str], list[dict[str, str]]]] = {
                "POST project": (f"{base}/api/v1/assessments/", "POST", [json.dumps(body)],
                                 [{"Authorization": f"Token {t}", "Content-Type": "application/json"}
                                  for t in tokens[1:]]),
                "POST bare": (f"{base}/bench/bare/entries/", "POST", bare_bodies,
                              [{"Content-Type": "application/json"}]),
                "List project": (f"{base}/api/v1/assessments/?page_size=50", "GET", [""],
                                 [{"Authorization": f"Token {tokens[0]}"}]),
                "List bare": (f"{base}/bench/bare/entries/list/?patient={ids[0][0]}", "GET", [""], [{}]),
            }  # fmt: skip
            paths = {}
            for name, (_, method, bodies, headers) in scripts.items():
                paths[name] = Path(tmp) / f"{name.replace(' ', '_')}.lua"
                _lua(paths[name], method=method, bodies=bodies, headers=headers)
            rates: dict[str, list[float]] = {name: [] for name in scripts}
            errors: dict[str, int] = dict.fromkeys(scripts, 0)
            for _ in range(args.rounds):
                for name, (target, *_rest) in scripts.items():
                    rate, failed = _wrk(target, paths[name], args.seconds)
                    rates[name].append(rate)
                    errors[name] += failed
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(f"\nPortal API against a bare DRF baseline: gunicorn 2 sync workers, wrk 8 connections, "
          f"{args.rounds} x {args.seconds} s alternated, medians (req/s)\n")  # fmt: skip
    print("| what | project | bare | ratio | queries project / bare | non-2xx project / bare |")
    print("| --- | --- | --- | --- | --- | --- |")
    for what in ("POST", "List"):
        project, bare = statistics.median(rates[f"{what} project"]), statistics.median(rates[f"{what} bare"])
        ratio = project / bare if bare else float("nan")
        print(
            f"| {what} | {project:.0f} | {bare:.0f} | {ratio:.2f}x | {queries[what][0]} / {queries[what][1]} | "
            f"{errors[f'{what} project']} / {errors[f'{what} bare']} |"
        )
    print(f"\nEvery run (req/s): {json.dumps({k: [round(v) for v in vs] for k, vs in rates.items()})}")
    print(f"gunicorn log: {log}")
    write_json(args.json, {"rates": rates, "queries": queries, "errors": errors})


if __name__ == "__main__":
    main()
