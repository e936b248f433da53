"""The names of the Celery tasks: how the services ask for work without importing the tasks.

The tasks (``assessments.tasks``) call the services; the services never import the tasks. A service that
wants work done after its transaction publishes one of these names (``clinic.publish``), and the task of
that name picks it up. ``CELERY_TASK_ROUTES`` (clinic/settings.py) sends the email tasks to the ``email``
queue by the same names.
"""

from __future__ import annotations

from typing import Final

SCAN_PATIENT: Final = "assessments.scan_patient"
SWEEP_UNSCANNED: Final = "assessments.sweep_unscanned"
EVALUATE_ENROLLED: Final = "assessments.evaluate_enrolled"
SEND_EMAIL: Final = "assessments.send_email"
SWEEP_OUTBOX: Final = "assessments.sweep_outbox"
SEND_DIGESTS: Final = "assessments.send_digests"
SEND_REMINDERS: Final = "assessments.send_reminders"
