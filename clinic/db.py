"""Writing a batch of new rows faster than ``bulk_create`` can: PostgreSQL's COPY."""

from __future__ import annotations

import time
from collections.abc import Sequence

from django.db import connection, models


def insert_many(objs: Sequence[models.Model]) -> None:
    """INSERT new instances of one model, giving each its id: with COPY on PostgreSQL, else ``bulk_create``.

    On PostgreSQL, two statements whatever the number of rows: the ids are taken from the table's sequence, then the
    rows are copied in with them. Each value is prepared as ``bulk_create`` prepares it (``pre_save`` fills the
    ``auto_now`` fields, ``get_db_prep_save`` adapts), and as with ``bulk_create`` no signal is sent. COPY skips
    Django's SQL compiler and psycopg's parsing of a statement with a placeholder per value, which for a batch of
    alerts cost more than the database's work. Errors are Django's (an IntegrityError for a duplicate), and the COPY
    is written to the queries log when it is on (``DEBUG``, ``CaptureQueriesContext``), so query counts see it.
    """
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    opts = model._meta
    if not isinstance(opts.pk, models.AutoField | models.BigAutoField):
        raise TypeError(f"insert_many needs a sequence-numbered id; {opts.label} has {opts.pk!r}")
    table = connection.ops.quote_name(str(opts.db_table))
    fields = opts.concrete_fields
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        sql = f"COPY {table} ({columns}) FROM STDIN"
        started = time.monotonic()
        with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
        if connection.queries_logged:
            connection.queries_log.append(
                {"sql": f"{sql} -- {len(objs)} rows", "time": f"{time.monotonic() - started:.3f}"}
            )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
