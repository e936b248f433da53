"""``field__any_of=[...]``: ``IN`` on every database, one array parameter on PostgreSQL.

The scan marks the entries it read as scanned, thousands of ids a batch. Django's ``__in`` sends each id as its
own parameter, which psycopg's client-side binding splits, quotes and the server parses one by one; ``= ANY(%s)``
sends the list as one array. Same rows, same index, either way.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import Field
from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "any_of"

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        if not self.rhs_is_direct_value():
            return self.as_sql(compiler, connection)  # type: ignore[no-any-return]
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=True) for v in self.rhs if v is not None]
        if not values:
            raise EmptyResultSet
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


def register() -> None:
    Field.register_lookup(AnyOf)
