"""A new password revokes every API token of the user; Django's session hash ends their other sessions.

Django keys each session to a hash of the password (``get_session_auth_hash``), so changing the password ends
every session but the one that made the change (the admin's password page keeps that one with
``update_session_auth_hash``). Knox tokens know nothing of the password: they are deleted here, whatever path
changed it (the admin, the portal's activation, a reset, ``manage.py changepassword``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_save


def revoke_tokens_on_password_change(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.pk is None or kwargs.get("raw"):
        return
    if update_fields is not None and "password" not in update_fields:
        return  # e.g. last_login on each login: no extra query
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is None or stored == instance.password:
        return
    from knox.models import AuthToken

    # In the same transaction as the new password: both happen, or neither.
    AuthToken.objects.filter(user_id=instance.pk).delete()


def connect() -> None:
    pre_save.connect(
        revoke_tokens_on_password_change, sender=get_user_model(), dispatch_uid="patients.revoke_tokens_on_password"
    )
