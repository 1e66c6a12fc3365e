"""Fixtures shared by the staff-console tests."""

from __future__ import annotations

from typing import Any

import pytest

from judging.settings import Settings
from tests.conftest import run_db
from tests.judging.staff_support import seed_onsite


@pytest.fixture
def scored(settings: Settings, demo: int) -> int:
    """The demo contest with every panel judge's on-site sheets (:func:`seed_onsite`)."""
    async def go(session: Any) -> int:
        return await seed_onsite(session, demo)

    assert run_db(settings, go) > 100
    return demo
