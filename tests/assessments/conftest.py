"""Fixtures of the alerts-engine tests: a frozen clock."""

from __future__ import annotations

from typing import Any

import pytest

from tests.assessments.helpers import NOW


@pytest.fixture(autouse=True)
def clock(time_machine: Any) -> Any:
    """Time stands still at NOW (a Wednesday, 13:00 in London) until a test moves it.

    Autouse, so that the personas and their enrollments are created on the same frozen day.
    """
    time_machine.move_to(NOW, tick=False)
    return time_machine
