from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PatientsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "patients"

    def ready(self) -> None:
        post_migrate.connect(_ensure_groups, dispatch_uid="patients.ensure_groups")
        from patients import credentials

        credentials.connect()


def _ensure_groups(sender: AppConfig, **kwargs: Any) -> None:
    """Keep the staff groups and their permissions in step with the models after every migrate.

    Runs for every app, since each app's permissions exist only once its own post_migrate has run.
    """
    from patients.roles import ensure_staff_groups

    ensure_staff_groups(using=kwargs.get("using", "default"))
