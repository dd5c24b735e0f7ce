"""Shared fixtures for the core tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from perturbopt._engine.policy import EveryCallParallel, RecordingPolicy, use_policy


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20201202)


@pytest.fixture
def dispatches() -> Iterator[list[str]]:
    """Record every parallel dispatch of the engine (its mode's name), so that a test
    knows it really happened."""
    with use_policy(RecordingPolicy()) as policy:
        yield policy.dispatched  # type: ignore[attr-defined]


@pytest.fixture
def force_dispatch() -> Iterator[list[str]]:
    """Make the engine dispatch even tiny jobs, in tasks of a few rows; the modes used
    are recorded."""
    with use_policy(EveryCallParallel(task_rows=3)) as policy:
        yield policy.dispatched  # type: ignore[attr-defined]
