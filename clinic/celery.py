"""The Celery application. Settings live in clinic/settings.py under the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _prepare_filesystem_broker() -> None:
    """The embedded broker keeps messages in folders under var/, which must exist before the first publish."""
    options = app.conf.broker_transport_options or {}
    if str(app.conf.broker_url).startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            if options.get(key):
                os.makedirs(options[key], exist_ok=True)


_prepare_filesystem_broker()
