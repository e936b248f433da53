"""clinic.db.insert_many: new rows written in one go (COPY on PostgreSQL), stored exactly as saving them would."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from assessments.models import Alert
from clinic.db import insert_many
from tests.assessments.factories import AlertFactory
from tests.factories import PatientFactory

# What COPY's text format must escape, and what JSON and text columns hold: quotes, backslashes, tabs, new lines,
# a literal \N, non-ASCII, nested structures, nulls, booleans and numbers.
AWKWARD = 'a "quoted"\tword\\ with \\N,\nnew line, ünïcödé ✓'
JSON = {"text": AWKWARD, "list": [1, 2.5, None, True, {"x": "\\"}], "empty": {}}


def unsaved_alerts(n: int, **fields: Any) -> list[Alert]:
    patient = PatientFactory()
    return [AlertFactory.build(patient=patient, qualifier=f"q{i}", **fields) for i in range(n)]


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 25])
def test_rows_are_stored_as_saving_each_would_store_them_in_a_constant_number_of_statements(size: int) -> None:
    alerts = unsaved_alerts(size, values=JSON, rationale=AWKWARD, thresholds={"k": 1}, reported_late=True)
    with CaptureQueriesContext(connection) as queries:
        insert_many(alerts)

    assert len(queries) == (2 if connection.vendor == "postgresql" else 1)  # the ids, then the rows
    assert all(a.pk is not None and not a._state.adding for a in alerts)
    for alert in alerts:
        stored = Alert.objects.get(pk=alert.pk)
        assert (stored.values, stored.rationale, stored.thresholds) == (JSON, AWKWARD, {"k": 1})
        assert (stored.qualifier, stored.reported_late, stored.resolved_at) == (alert.qualifier, True, None)
        assert stored.raised_at == alert.raised_at is not None  # auto_now_add filled on the instance, as save() does
    assert len({a.pk for a in alerts}) == size
    later = AlertFactory(patient=alerts[0].patient, qualifier="later")
    assert later.pk > max(a.pk for a in alerts)  # the ids came from the table's own sequence


@pytest.mark.django_db
def test_a_refused_row_raises_django_s_integrity_error_and_writes_nothing() -> None:
    first, duplicate = unsaved_alerts(2)
    duplicate.qualifier = first.qualifier  # the unique index of unresolved alerts refuses the second

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many([first, duplicate])

    assert not Alert.objects.exists()
