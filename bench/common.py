"""Shared set-up of the database benchmarks: their own PostgreSQL database, migrated, before Django starts."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def bench_database_url(name: str) -> str:
    """DATABASE_URL of the database ``name`` on the server of $DATABASE_URL (which must be PostgreSQL)."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.exit("This benchmark needs DATABASE_URL=postgres://... (it creates its own database on that server).")
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(url: str) -> None:
    """Create the database of ``url`` unless it exists (through the server's maintenance database)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(database_url: str, **env: str) -> None:
    """Point Django at the benchmark's database (and any other setting given as environment), then start it.

    DEBUG is off, as in production: with DEBUG on, Django keeps every query it runs in memory.
    """
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DEBUG", "false")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def wipe() -> None:
    """Empty the benchmark's database (every clinic, person, program, entry, alert and email)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE patients_clinic, programs_program, auth_user, django_celery_beat_periodictask "
            "RESTART IDENTITY CASCADE"
        )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json FILE``: the figures also written as JSON, for ``bench.report`` (the issue 10 table)."""
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE as JSON")


def write_json(path: Path | None, figures: dict[str, Any]) -> None:
    """Write ``figures`` to ``path`` (from ``--json``), if one was given."""
    if path is not None:
        path.write_text(json.dumps(figures, indent=2) + "\n")
