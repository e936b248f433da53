"""docker-compose.yml and the README agree with the settings module (no Docker engine is needed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = ROOT / "clinic" / "settings.py"
COMPOSE_FILE = ROOT / "docker-compose.yml"
README_FILE = ROOT / "README.md"

SERVICES = {"web", "worker", "beat", "postgres", "redis", "mailpit"}
APP_SERVICES = ("web", "worker", "beat")
# The URL variables and the compose service (and port) each must point at.
URL_TARGETS = {
    "DATABASE_URL": ("postgres", 5432),
    "CELERY_BROKER_URL": ("redis", 6379),
    "CACHE_URL": ("redis", 6379),
    "EMAIL_URL": ("mailpit", 1025),
}

# `_read("NAME", ...)`, `env.str("NAME", ...)`, `environ.Env().str("NAME", ...)`, possibly over several lines.
_READ_CALL = re.compile(r'(?:\b_read|\benv\.\w+|\bEnv\(\)\.\w+|\benviron\.get|\bgetenv)\(\s*"([A-Z][A-Z0-9_]*)"')
# `${NAME:-default}` / `${NAME-default}`: what compose substitutes when NAME is unset.
_DEFAULT_SUBST = re.compile(r"\$\{([A-Z][A-Z0-9_]*):?-([^}]*)\}")


def settings_variables() -> set[str]:
    """Every environment variable clinic/settings.py reads, found by scanning its text."""
    return set(_READ_CALL.findall(SETTINGS_FILE.read_text()))


def readme_variables() -> set[str]:
    """The variables listed in the README's environment table (rows that start with `` | `NAME` | ``)."""
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", README_FILE.read_text(), flags=re.MULTILINE))


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


@pytest.fixture(scope="module")
def app_env(compose: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in compose["x-app-env"].items()}


def test_settings_scan_finds_the_variables_of_the_issue() -> None:
    # Guards the scan itself: a regex that matched nothing would make the tests below pass vacuously.
    required = {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "SECRET_KEY", "ALLOWED_HOSTS"}
    assert required | {"DEBUG", "DJANGO_ENV", "SITE_URL"} <= settings_variables()


def test_compose_defines_the_six_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= SERVICES


def test_web_migrates_then_runs_gunicorn_on_all_interfaces(compose: dict[str, Any]) -> None:
    command = command_text(compose["services"]["web"])
    assert "gunicorn -c python:clinic.gunicorn_conf clinic.wsgi" in command  # access log without query strings
    assert "--bind 0.0.0.0:8000" in command
    assert command.index("manage.py migrate") < command.index("gunicorn")


def test_worker_runs_the_celery_worker(compose: dict[str, Any]) -> None:
    assert command_text(compose["services"]["worker"]).startswith("celery -A clinic worker")


def test_beat_runs_celery_beat_with_the_database_scheduler(compose: dict[str, Any]) -> None:
    command = command_text(compose["services"]["beat"])
    assert command.startswith("celery -A clinic beat")
    assert "--scheduler django_celery_beat.schedulers:DatabaseScheduler" in command


def test_app_services_share_one_environment(compose: dict[str, Any], app_env: dict[str, str]) -> None:
    for name in APP_SERVICES:
        environment = {key: str(value) for key, value in compose["services"][name]["environment"].items()}
        assert environment == app_env, name


def test_app_environment_holds_only_variables_settings_reads(app_env: dict[str, str]) -> None:
    unknown = set(app_env) - settings_variables()
    assert not unknown, f"compose sets variables clinic/settings.py never reads: {sorted(unknown)}"
    assert {"DEBUG", "DJANGO_ENV", "SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL", *URL_TARGETS} <= set(app_env)


@pytest.mark.parametrize(("variable", "target"), URL_TARGETS.items())
def test_url_variables_point_at_compose_services(
    compose: dict[str, Any], app_env: dict[str, str], variable: str, target: tuple[str, int]
) -> None:
    service, port = target
    url = urlsplit(app_env[variable])
    assert (url.hostname, url.port) == (service, port)
    assert service in compose["services"]


def test_production_mode_with_a_required_secret_key(app_env: dict[str, str]) -> None:
    assert app_env["DJANGO_ENV"] == "production"
    assert app_env["DEBUG"].lower() == "false"
    assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", app_env["SECRET_KEY"])


@pytest.mark.parametrize("service", ["postgres", "redis", "web", "mailpit"])
def test_health_checks(compose: dict[str, Any], service: str) -> None:
    expected = {"postgres": "pg_isready", "redis": "redis-cli ping", "web": "/health/", "mailpit": "readyz"}
    test = compose["services"][service]["healthcheck"]["test"]
    assert expected[service] in (" ".join(test) if isinstance(test, list) else test)


def test_dependencies_wait_for_healthy_services(compose: dict[str, Any]) -> None:
    healthchecked = {name for name, svc in compose["services"].items() if "healthcheck" in svc}
    for name in APP_SERVICES:
        depends_on = compose["services"][name]["depends_on"]
        assert isinstance(depends_on, dict), f"{name}: depends_on must name a condition"
        assert {"postgres", "redis"} <= set(depends_on), name
        for dependency, spec in depends_on.items():
            assert spec == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert dependency in healthchecked, f"{name} waits for {dependency}, which has no health check"
    # Migrations run in web: worker and beat start only once it is healthy.
    assert "web" in compose["services"]["worker"]["depends_on"]
    assert "web" in compose["services"]["beat"]["depends_on"]


def test_settings_accept_the_compose_environment(app_env: dict[str, str], tmp_path: Path) -> None:
    """The compose values, with their defaults substituted, load in production mode."""
    env = {k: v for k, v in os.environ.items() if k not in settings_variables()}
    for name, value in app_env.items():
        env[name] = _DEFAULT_SUBST.sub(lambda m: m.group(2), value)
    env.update(SECRET_KEY="k" * 64, DJANGO_SETTINGS_MODULE="clinic.settings", VAR_DIR=str(tmp_path))
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.EMAIL_BACKEND]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "django.db.backends.postgresql",
        "clinic.cache.ResilientRedisCache",
        "django.core.mail.backends.smtp.EmailBackend",
    ]


def test_readme_table_lists_exactly_the_variables_settings_reads() -> None:
    documented, read = readme_variables(), settings_variables()
    assert not read - documented, f"missing from the README table: {sorted(read - documented)}"
    assert not documented - read, f"in the README table but not read by settings: {sorted(documented - read)}"
