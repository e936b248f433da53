"""Token authentication: django-rest-knox, without reading every token of the user on each request.

knox's own class deletes the user's other expired tokens whenever any token is presented: one more query on
every API request. Here the presented token alone is checked (expired, it is deleted and refused, as in
knox); the other expired tokens are deleted by the daily purge (``patients.purge_expired_tokens``) or when
they are presented. Expiry and revocation are unchanged.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.signals import token_expired


class TokenAuthentication(KnoxTokenAuthentication):  # type: ignore[misc]
    def _cleanup_token(self, auth_token: Any) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class TokenScheme(KnoxTokenScheme):  # type: ignore[misc,no-untyped-call]
    """The OpenAPI security scheme of this class: knox's ("knoxApiToken"), which the schema already names."""

    target_class = "clinic.api.tokens.TokenAuthentication"
