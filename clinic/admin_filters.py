"""Admin list filters shared by the apps' admins."""

from __future__ import annotations

from typing import Any

from django.contrib import admin


class DefaultedListFilter(admin.SimpleListFilter):
    """A list filter that always has a choice selected (its default, when the URL names none), without "All"."""

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }
