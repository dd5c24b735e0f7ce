"""Shared fixtures for the core tests."""

from __future__ import annotations

import numpy as np
import pytest

from perturbopt import _engine


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20201202)


@pytest.fixture
def dispatches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every parallel dispatch of the engine (its placement's mode), so that a
    test knows it really happened."""
    calls: list[str] = []
    original = _engine._dispatch

    def spy(*args: object, **kwargs: object) -> object:
        placement = args[5] if len(args) > 5 else kwargs["placement"]
        calls.append(placement.mode)  # type: ignore[attr-defined]
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_engine, "_dispatch", spy)
    return calls


@pytest.fixture
def force_dispatch(monkeypatch: pytest.MonkeyPatch, dispatches: list[str]) -> list[str]:
    """Make the engine dispatch even tiny jobs, in tasks of a few rows."""
    monkeypatch.setattr(_engine, "_worth_it", lambda *args: True)
    monkeypatch.setattr(_engine, "_task_rows", lambda *args: lambda left: 3)
    monkeypatch.setattr(_engine, "_probe_rows", lambda *args: 1)
    monkeypatch.setattr(_engine, "_pick_mode", lambda spec, placement, *args: placement.modes[0])
    return dispatches
