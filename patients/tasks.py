"""Celery tasks of the portal accounts."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from knox.models import AuthToken


@shared_task(name="patients.purge_expired_tokens")
def purge_expired_tokens() -> int:
    """Daily: delete the API tokens past their expiry (each is refused when presented in any case)."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return int(deleted)
