"""The settings module fails loudly on bad values, embeds its defaults, and is deployable in production mode.

Each case loads the settings in a fresh interpreter: settings are read once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import send_mail

ROOT = Path(__file__).resolve().parents[2]
# Variables a case sets itself; removed from the inherited environment so that CI's values do not leak in.
CONTROLLED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "DJANGO_ENV",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "EMAIL_TIMEOUT",
    "VAR_DIR",
)
PRODUCTION_KEY = "p" * 16 + "r0dUct10n-k3y-" + "x" * 34  # 64 characters, not django-insecure
PRODUCTION = {"DJANGO_ENV": "production", "SECRET_KEY": PRODUCTION_KEY, "ALLOWED_HOSTS": "clinic.example.org"}

SETUP = "import django; django.setup()"


def run(tmp_path: Path, args: list[str], **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env.update(DJANGO_SETTINGS_MODULE="clinic.settings", VAR_DIR=str(tmp_path / "var"), **variables)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def improperly_configured_message(stderr: str) -> str:
    """The message of the ImproperlyConfigured that ended the process (not the traceback's source lines)."""
    prefix = "django.core.exceptions.ImproperlyConfigured:"
    lines = [line for line in stderr.splitlines() if line.startswith(prefix)]
    assert lines, f"no ImproperlyConfigured in stderr:\n{stderr}"
    return lines[-1].removeprefix(prefix)


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "garbage"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "ftp://x"}, "CELERY_BROKER_URL"),
        ({"CACHE_URL": "nope://"}, "CACHE_URL"),
        ({"EMAIL_URL": "bogus://x"}, "EMAIL_URL"),
        ({"EMAIL_TIMEOUT": "abc"}, "EMAIL_TIMEOUT"),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV"),
        ({"DJANGO_ENV": "production", "ALLOWED_HOSTS": "clinic.example.org"}, "SECRET_KEY"),
        ({**PRODUCTION, "SECRET_KEY": "too-short-for-production"}, "SECRET_KEY"),
        ({"DJANGO_ENV": "production", "SECRET_KEY": PRODUCTION_KEY}, "ALLOWED_HOSTS"),
    ],
    ids=[
        "debug-not-a-boolean",
        "database-unsupported-scheme",
        "database-not-a-url",
        "broker-unsupported-scheme",
        "cache-unknown-scheme",
        "email-unknown-scheme",
        "email-timeout-not-a-number",
        "unknown-environment",
        "production-without-secret-key",
        "production-with-short-secret-key",
        "production-without-allowed-hosts",
    ],
)
def test_bad_value_stops_start_up_naming_the_variable(tmp_path: Path, variables: dict[str, str], named: str) -> None:
    result = run(tmp_path, ["-c", SETUP], **variables)
    assert result.returncode != 0
    assert named in improperly_configured_message(result.stderr)


def test_nothing_configured_embeds_sqlite_filesystem_broker_and_outbox_folder(tmp_path: Path) -> None:
    script = (
        f"{SETUP}; import json; from django.conf import settings as s; print(json.dumps({{"
        "'engine': s.DATABASES['default']['ENGINE'], 'db': str(s.DATABASES['default']['NAME']),"
        "'broker': s.CELERY_BROKER_URL, 'queue': s.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in'],"
        "'email': s.EMAIL_BACKEND, 'outbox': str(s.EMAIL_OUTBOX_DIR), 'debug': s.DEBUG}))"
    )
    result = run(tmp_path, ["-c", script])
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    var = tmp_path / "var"
    assert values == {
        "engine": "django.db.backends.sqlite3",
        "db": str(var / "db.sqlite3"),
        "broker": "filesystem://localhost/",
        "queue": str(var / "broker" / "queue"),
        "email": "clinic.email.OutboxFolderBackend",
        "outbox": str(var / "outbox"),
        "debug": True,
    }


def test_production_mode_passes_check_deploy(tmp_path: Path) -> None:
    result = run(tmp_path, ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_mode_hashes_with_argon2_and_wants_12_characters(tmp_path: Path) -> None:
    script = (
        f"{SETUP}; import json; from django.conf import settings as s; "
        "print(json.dumps([s.DEBUG, s.PASSWORD_HASHERS, s.AUTH_PASSWORD_VALIDATORS]))"
    )
    result = run(tmp_path, ["-c", script], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    debug, hashers, validators = json.loads(result.stdout.strip().splitlines()[-1])
    assert debug is False
    assert hashers[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    (min_length,) = [
        v.get("OPTIONS", {}).get("min_length")
        for v in validators
        if v["NAME"] == "django.contrib.auth.password_validation.MinimumLengthValidator"
    ]
    assert min_length == 12


def test_outbox_folder_backend_writes_one_parseable_eml_per_message(settings: Any) -> None:
    settings.EMAIL_BACKEND = "clinic.email.OutboxFolderBackend"
    outbox = Path(settings.EMAIL_OUTBOX_DIR)

    for n in (1, 2):
        sent = send_mail(f"Alert {n}", f"Body {n}", "alerts@clinic.test", [f"therapist{n}@clinic.test"])
        assert sent == 1

    files = sorted(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # and no half-written .part file left
    messages = [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]
    got = sorted((m["Subject"], m["To"], m.get_content().strip()) for m in messages)
    assert got == [
        ("Alert 1", "therapist1@clinic.test", "Body 1"),
        ("Alert 2", "therapist2@clinic.test", "Body 2"),
    ]
