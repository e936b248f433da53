"""API token authentication: django-rest-knox's tokens, checked in one query that also says who the user is.

knox's own class reads the token with its user, then deletes the user's other expired tokens whenever any token
is presented (one more query on every request); the endpoints then ask who the user is, a patient or a clinic's
staff (one more query each). Here one constant SQL statement reads the presented token with its user, the
user's patient record and its clinic, and the user's staff profile; the instances are built with
``Model.from_db`` and linked as ``select_related`` would link them, so ``patients.models.patient_of`` and
``patients.access.staff_profile`` answer without a query, present or absent. Written as SQL because the ORM
spent twice as long building this join as the database spent running it, on every API request.

The statement reads each model's own table: it assumes, as the project does, a user model without multi-table
inheritance (Django's ``auth.User``), and a token model without it (knox's).

Only the presented token is checked: expired, it is deleted and refused (knox's ``token_expired`` signal
sent); the user's other expired tokens are deleted by the daily purge (``patients.purge_expired_tokens``) or
when presented. An inactive user is refused. Expiry and revocation are as in knox.
"""

from __future__ import annotations

import binascii
from hmac import compare_digest
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from patients.models import Clinic, Patient, Therapist
from programs.models import Enrollment, preload_active_enrollment

# Per model: its attribute names in the order selected, the position of its primary key, and each column with
# the converters the ORM would apply to it.
Layout = tuple[tuple[type[Model], list[str], int, list[tuple[Any, list[Any]]]], ...]
# Kept on the connection wrapper itself: the converters are bound to it (SQLite's), so a cache beside it would
# keep every thread's wrapper alive.
_CACHED_ON_CONNECTION = "_clinic_token_statement"


def _statement(connection: BaseDatabaseWrapper) -> tuple[str, Layout]:
    """The SELECT of a token by its key with its user, patient, clinic and staff profile; for each model, its
    attribute names in the order selected and each column's converters (what the ORM applies to a value read,
    e.g. SQLite's text to an aware datetime). Built once per connection."""
    known: tuple[str, Layout] | None = getattr(connection, _CACHED_ON_CONNECTION, None)
    if known is not None:
        return known
    quote = connection.ops.quote_name
    token_model, user_model = get_token_model(), get_user_model()
    models = (
        (token_model, "t"), (user_model, "u"), (Patient, "p"), (Clinic, "c"), (Enrollment, "e"), (Therapist, "s"),
    )  # fmt: skip

    def table(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    def column(model: type[Model], name: str) -> str:
        field = model._meta.get_field(name)
        assert isinstance(field, Field)
        assert field.column is not None
        return quote(field.column)

    columns = [f"{alias}.{column(model, f.name)}" for model, alias in models for f in model._meta.concrete_fields]

    user_id = column(user_model, user_model._meta.pk.name)  # type: ignore[union-attr]
    # Identifiers only, quoted by the database's own rules, from the models' metadata; the values are parameters.
    sql = (
        f"SELECT {', '.join(columns)} FROM {table(token_model)} t "  # noqa: S608
        f"INNER JOIN {table(user_model)} u ON u.{user_id} = t.{column(token_model, 'user')} "
        f"LEFT JOIN {table(Patient)} p ON p.{column(Patient, 'user')} = u.{user_id} "
        f"LEFT JOIN {table(Clinic)} c ON c.{column(Clinic, 'id')} = p.{column(Patient, 'clinic')} "
        f"LEFT JOIN {table(Enrollment)} e ON e.{column(Enrollment, 'patient')} = p.{column(Patient, 'id')} "
        f"AND e.{column(Enrollment, 'active')} = %s "
        f"LEFT JOIN {table(Therapist)} s ON s.{column(Therapist, 'user')} = u.{user_id} "
        f"WHERE t.{column(token_model, 'token_key')} = %s"
    )
    layout = []
    for model, alias in models:
        fields = model._meta.concrete_fields
        converters = []
        for f in fields:
            col = f.get_col(alias)
            converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
        names = [f.attname for f in fields]
        layout.append((model, names, names.index(model._meta.pk.attname), converters))  # type: ignore[union-attr]
    built = (sql, tuple(layout))
    setattr(connection, _CACHED_ON_CONNECTION, built)
    return built


def tokens_with_user(key: str) -> list[Any]:
    """The tokens whose key is ``key`` (knox: the first characters of the token), each with its ``user``, and
    the user's ``patient`` (with its ``clinic`` and active enrollment, ``programs.models.active_enrollment``)
    and ``therapist`` cached, None where there is none."""
    alias = router.db_for_read(get_token_model())
    connection = connections[alias]
    sql, layout = _statement(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, key])
        rows = cursor.fetchall()
    tokens = []
    for row in rows:
        built: list[Any] = []
        start = 0
        for model, names, pk, converters in layout:
            values = list(row[start : start + len(names)])
            start += len(names)
            if values[pk] is None:  # no such row (a left join): the primary key is null
                built.append(None)
                continue
            for i, (col, functions) in enumerate(converters):
                for convert in functions:
                    values[i] = convert(values[i], col, connection)
            built.append(model.from_db(alias, names, values))
        token, user, patient, clinic, enrollment, therapist = built
        token.user = user
        if patient is not None:
            patient.clinic = clinic
            patient.user = user
            preload_active_enrollment(patient, enrollment)
            if enrollment is not None:
                enrollment.patient = patient
        if therapist is not None:
            therapist.user = user
        # A reverse one-to-one caches its answer, "none" included, as select_related does.
        type(user).patient.related.set_cached_value(user, patient)
        type(user).therapist.related.set_cached_value(user, therapist)
        tokens.append(token)
    return tokens


class TokenAuthentication(KnoxTokenAuthentication):  # type: ignore[misc]
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        msg = _("Invalid token.")
        key = token.decode("utf-8")
        for auth_token in tokens_with_user(key[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(key)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(msg) from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)  # type: ignore[no-any-return]
        raise exceptions.AuthenticationFailed(msg)

    def _cleanup_token(self, auth_token: Any) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class TokenScheme(KnoxTokenScheme):  # type: ignore[misc,no-untyped-call]
    """The OpenAPI security scheme of this class: knox's ("knoxApiToken"), which the schema already names."""

    target_class = "patients.tokens.TokenAuthentication"
