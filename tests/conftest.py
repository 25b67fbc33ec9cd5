"""Shared fixtures: the bundled NB201 problem is loaded once per test session."""

from __future__ import annotations

import pytest
from hypothesis import settings

from cenas.tasks.nb201 import NB201Problem

# Shared 2-core CI machines stall now and then: time limits belong in benchmarks, not here.
settings.register_profile("cenas", deadline=None)
settings.load_profile("cenas")


@pytest.fixture(scope="session")
def nb201() -> NB201Problem:
    return NB201Problem()


@pytest.fixture
def one_thread():
    """Torch tests run single-threaded: on shared 2-core machines more threads only contend."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
