"""Shared fixtures: the bundled NB201 problem is loaded once per test session."""

from __future__ import annotations

import pytest

from cenas.tasks.nb201 import NB201Problem


@pytest.fixture(scope="session")
def nb201() -> NB201Problem:
    return NB201Problem()
