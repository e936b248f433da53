"""The rules engine is pure (no Django, no cache, no files): its tests skip the suite's per-test state reset."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_state() -> None:
    """Overrides tests/conftest.py's fixture of the same name: nothing here touches the cache or the outbox."""
