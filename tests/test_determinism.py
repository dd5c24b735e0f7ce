"""One seed, bit-identical results, whatever the number of workers, backend or chunking."""

from __future__ import annotations

import sys
import time

import cloudpickle
import joblib
import numpy as np
import pytest

import perturbopt
from perturbopt import _engine

# Test modules are not importable by name in worker processes: send their code along.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class SlowAssignment:
    """Row-wise argmin assignment with a sleep, slow enough for the engine to dispatch."""

    sense = "min"
    ndim = 2
    name = "slow-assignment"

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        from scipy.optimize import linear_sum_assignment

        time.sleep(0.001)
        rows, cols = linear_sum_assignment(theta)
        y = np.zeros(theta.shape)
        y[rows, cols] = 1.0
        return y


def _fingerprint(result: perturbopt.PerturbedResult) -> list[bytes]:
    g = np.linspace(-1.0, 1.0, result.theta.size).reshape(result.theta.shape)
    g = g if result.batched else g[0]
    return [result.samples.tobytes(), result.sample_values.tobytes(), result.mean.tobytes(),
            result.vjp(g).tobytes(), str(result.samples.dtype).encode()]


def _run(solver: object, theta: np.ndarray, n_jobs: int | None, **options: object) -> list[list[bytes]]:
    po = perturbopt.perturbed(solver, epsilon=0.5, num_samples=24, seed=7, n_jobs=n_jobs,
                              **options)
    return [_fingerprint(po.solve(theta)), _fingerprint(po.solve(theta))]


@pytest.fixture
def dispatches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the chunked dispatches to workers (so a test knows they happened)."""
    calls: list[int] = []
    original = _engine._solve_on_workers

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_engine, "_solve_on_workers", spy)
    return calls


@pytest.fixture
def force_dispatch(monkeypatch: pytest.MonkeyPatch, dispatches: list[int]) -> list[int]:
    """Make the engine dispatch even tiny jobs, in many small chunks."""
    monkeypatch.setattr(_engine, "DISPATCH_MARGIN", 0.0)
    monkeypatch.setattr(_engine, "TRANSFER_SECONDS_PER_BYTE", 0.0)
    monkeypatch.setattr(_engine, "TARGET_TASK_SECONDS", 1e-4)
    return dispatches


@pytest.mark.parametrize("backend", ["loky", "threading"])
@pytest.mark.parametrize("noise,perturbation", [("gaussian", "additive"),
                                                ("gumbel", "additive"),
                                                ("gaussian", "multiplicative")])
def test_slow_solver_identical_for_any_workers(dispatches: list[int], backend: str, noise: str,
                                              perturbation: str) -> None:
    theta = np.random.default_rng(0).uniform(0.5, 2.0, size=(3, 4, 4))
    serial = _run(SlowAssignment(), theta, 1, noise=noise, perturbation=perturbation)
    assert not dispatches
    with joblib.parallel_config(backend=backend):
        parallel = _run(SlowAssignment(), theta, 2, noise=noise, perturbation=perturbation)
    assert dispatches, "the engine should have sent this slow job to workers"
    assert serial == parallel


@pytest.mark.parametrize("backend", ["loky", "threading"])
@pytest.mark.parametrize("solver", ["argmax", "topk", "ranking", "sign"])
def test_builtins_identical_when_forced_onto_workers(force_dispatch: list[int], backend: str,
                                                     solver: str) -> None:
    theta = np.random.default_rng(1).normal(size=(5, 13))
    serial = _run(solver, theta, 1, warm_start=True)
    with joblib.parallel_config(backend=backend):
        parallel = _run(solver, theta, 2, warm_start=True)
    assert force_dispatch
    assert serial == parallel


def test_n_jobs_none_follows_parallel_config(force_dispatch: list[int]) -> None:
    theta = np.random.default_rng(2).normal(size=(2, 6))
    serial = _run("ranking", theta, 1)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        configured = _run("ranking", theta, None)
    assert force_dispatch
    assert serial == configured


def test_block_size_does_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    theta = np.random.default_rng(3).normal(size=(7, 11))
    reference = _run("argmax", theta, 1, noise="gumbel")
    monkeypatch.setattr(_engine, "BLOCK_ELEMENTS", 50)  # blocks that cut through the batch
    assert _run("argmax", theta, 1, noise="gumbel") == reference


def test_seed_sequence_is_reproducible_and_calls_differ() -> None:
    theta = np.zeros(4)
    first = perturbopt.perturbed("argmax", num_samples=8, seed=5)
    second = perturbopt.perturbed("argmax", num_samples=8, seed=5)
    a, b = first.solve(theta), first.solve(theta)
    assert not np.array_equal(a.noise, b.noise)
    np.testing.assert_array_equal(a.noise, second.solve(theta).noise)
    np.testing.assert_array_equal(first.solve(theta, seed=9).noise,
                                  second.solve(theta, seed=9).noise)


def test_pools_restart_after_shutdown(force_dispatch: list[int]) -> None:
    theta = np.random.default_rng(4).normal(size=(3, 6))
    before = _run("sign", theta, 2)
    perturbopt.shutdown_pools()
    assert _run("sign", theta, 2) == before
    assert len(force_dispatch) >= 4


def test_one_process_pool_at_a_time(force_dispatch: list[int]) -> None:
    from perturbopt import _pools

    theta = np.random.default_rng(5).normal(size=(3, 6))
    assert _run("sign", theta, 2) == _run("sign", theta, 3)
    assert [key for key in _pools._pools if key[0] == "loky"] == [("loky", 3)]
    assert _run("sign", theta, 2) == _run("sign", theta, 1)
    assert [key for key in _pools._pools if key[0] == "loky"] == [("loky", 2)]
