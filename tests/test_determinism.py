"""One seed, bit-identical results, whatever the number of workers, backend or chunking."""

from __future__ import annotations

import contextlib
import sys
import time

import cloudpickle
import joblib
import numpy as np
import pytest

import perturbopt
from perturbopt._engine import processes as _processes
from perturbopt._engine.policy import EveryCallParallel, use_policy

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
    g = np.linspace(-1.0, 1.0, result.mean.size).reshape(result.mean.shape)
    return [
        result.samples.tobytes(),
        result.sample_values.tobytes(),
        result.mean.tobytes(),
        result.vjp(g).tobytes(),
        str(result.samples.dtype).encode(),
    ]


def _run(
    solver: object, theta: np.ndarray, n_jobs: int | None, **options: object
) -> list[list[bytes]]:
    po = perturbopt.perturbed(solver, epsilon=0.5, num_samples=24, seed=7, n_jobs=n_jobs, **options)
    return [_fingerprint(po.solve(theta)), _fingerprint(po.solve(theta))]


@pytest.mark.parametrize("backend", ["loky", "threading"])
@pytest.mark.parametrize(
    "noise,perturbation",
    [("gaussian", "additive"), ("gumbel", "additive"), ("gaussian", "multiplicative")],
)
def test_slow_solver_identical_for_any_workers(
    dispatches: list[str], backend: str, noise: str, perturbation: str
) -> None:
    theta = np.random.default_rng(0).uniform(0.5, 2.0, size=(3, 4, 4))
    serial = _run(SlowAssignment(), theta, 1, noise=noise, perturbation=perturbation)
    assert not dispatches
    with joblib.parallel_config(backend=backend):
        parallel = _run(SlowAssignment(), theta, 2, noise=noise, perturbation=perturbation)
    assert dispatches, "the engine should have sent this slow job to workers"
    assert set(dispatches) == {"processes" if backend == "loky" else "threads"}
    assert serial == parallel


@pytest.mark.parametrize("backend", [None, "loky", "threading"])
@pytest.mark.parametrize("solver", ["argmax", "topk", "ranking", "sign"])
def test_builtins_identical_when_forced_onto_workers(
    force_dispatch: list[str], backend: str | None, solver: str
) -> None:
    theta = np.random.default_rng(1).normal(size=(5, 13))
    options = {"k": 3} if solver == "topk" else None
    serial = _run(solver, theta, 1, warm_start=True, solver_options=options)
    with joblib.parallel_config(backend=backend) if backend else contextlib.nullcontext():
        parallel = _run(solver, theta, 2, warm_start=True, solver_options=options)
    assert force_dispatch
    assert serial == parallel


@pytest.mark.parametrize(
    "options",
    [{"antithetic": True}, {"dtype": "float32"}, {"keep_noise": False}, {"noise": "gumbel"}],
)
def test_options_identical_on_threads_and_processes(
    force_dispatch: list[str], options: dict
) -> None:
    theta = np.random.default_rng(8).normal(size=(4, 9))
    serial = _run("ranking", theta, 1, **options)
    for backend in ("threading", "loky"):
        with joblib.parallel_config(backend=backend):
            assert _run("ranking", theta, 2, **options) == serial
    assert set(force_dispatch) == {"threads", "processes"}


def test_n_jobs_none_follows_parallel_config(force_dispatch: list[str]) -> None:
    theta = np.random.default_rng(2).normal(size=(2, 6))
    serial = _run("ranking", theta, 1)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        configured = _run("ranking", theta, None)
    assert force_dispatch
    assert serial == configured


@pytest.mark.parametrize("rows", [1, 5, 17, 1000])
def test_task_size_does_not_change_results(rows: int) -> None:
    theta = np.random.default_rng(3).normal(size=(7, 11))
    reference = _run("argmax", theta, 1, noise="gumbel")
    policy = EveryCallParallel(task_rows=rows)
    with use_policy(policy), joblib.parallel_config(backend="threading"):
        assert _run("argmax", theta, 2, noise="gumbel") == reference
    assert policy.dispatched


def test_seed_sequence_is_reproducible_and_calls_differ() -> None:
    theta = np.zeros(4)
    first = perturbopt.perturbed("argmax", num_samples=8, seed=5)
    second = perturbopt.perturbed("argmax", num_samples=8, seed=5)
    a, b = first.solve(theta), first.solve(theta)
    assert not np.array_equal(a.noise, b.noise)
    np.testing.assert_array_equal(a.noise, second.solve(theta).noise)
    np.testing.assert_array_equal(
        first.solve(theta, seed=9).noise, second.solve(theta, seed=9).noise
    )
    # a call's own seed draws what the first call of an object with that seed draws
    np.testing.assert_array_equal(first.solve(theta, seed=5).noise, a.noise)


def test_noise_is_a_pure_function_of_the_key_and_the_shape() -> None:
    po = perturbopt.perturbed("argmax", num_samples=6, seed=0)
    small, large = po.solve(np.zeros((2, 3)), seed=1), po.solve(np.zeros((5, 3)), seed=1)
    assert small.noise.shape == (6, 2, 3) and large.noise.shape == (6, 5, 3)
    many = perturbopt.perturbed("argmax", num_samples=6, seed=0, n_jobs=2)
    np.testing.assert_array_equal(many.solve(np.zeros((5, 3)), seed=1).noise, large.noise)


def test_leading_batch_axes_are_a_flattened_batch() -> None:
    theta = np.random.default_rng(6).normal(size=(2, 3, 5))
    po = perturbopt.perturbed("topk", solver_options={"k": 2}, num_samples=12, seed=4)
    nested, flat = po.solve(theta, seed=2), po.solve(theta.reshape(6, 5), seed=2)
    assert nested.mean.shape == (2, 3, 5) and nested.samples.shape == (12, 2, 3, 5)
    assert np.shape(nested.value) == (2, 3) and nested.sample_values.shape == (12, 2, 3)
    np.testing.assert_array_equal(nested.mean.reshape(6, 5), flat.mean)
    g = np.random.default_rng(7).normal(size=(2, 3, 5))
    np.testing.assert_array_equal(nested.vjp(g).reshape(6, 5), flat.vjp(g.reshape(6, 5)))
    assert nested.jacobian().shape == (2, 3, 5, 5)


def test_pools_restart_after_shutdown(force_dispatch: list[str]) -> None:
    theta = np.random.default_rng(4).normal(size=(3, 6))
    with joblib.parallel_config(backend="loky"):
        before = _run("sign", theta, 2)
        perturbopt.shutdown_pools()
        assert _process_count() == 0
        assert _run("sign", theta, 2) == before
    assert force_dispatch.count("processes") >= 4


def _process_count() -> int:
    return sum(w.alive for w in _processes.process_workers()._workers)


def test_one_process_pool_at_a_time(force_dispatch: list[str]) -> None:
    theta = np.random.default_rng(5).normal(size=(3, 6))
    with joblib.parallel_config(backend="loky"):
        assert _run("sign", theta, 2) == _run("sign", theta, 3)
        assert _process_count() == 2  # n_jobs=3: the caller and two worker processes
        assert _run("sign", theta, 2) == _run("sign", theta, 1)
        assert _process_count() == 1


class Laplace:
    """A noise defined in a test module, so it must travel by value to workers."""

    name, symmetric = "laplace", True

    def sample(
        self, rng: np.random.Generator, shape: tuple[int, ...], dtype: type = np.float64
    ) -> np.ndarray:
        return rng.laplace(size=shape).astype(dtype)

    def score(self, z: np.ndarray) -> np.ndarray:
        return np.sign(z)

    def log_mgf(self, epsilon: float) -> float:
        return float(-np.log1p(-(epsilon**2)))


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_a_noise_object_of_ones_own_works_on_workers(
    force_dispatch: list[str], backend: str
) -> None:
    theta = np.random.default_rng(9).normal(size=(3, 5))
    serial = _run("sign", theta, 1, noise=Laplace())
    with joblib.parallel_config(backend=backend):
        assert _run("sign", theta, 2, noise=Laplace()) == serial
    assert force_dispatch


def test_a_thread_never_reuses_a_block_of_another_batch_size(force_dispatch: list[str]) -> None:
    """Tasks of 3 rows cut noise blocks in pieces, and each thread keeps its last block:
    a call with the same key and instance shape but another batch size (so blocks of
    another length) must draw its own."""
    serial = perturbopt.perturbed("argmax", num_samples=6, seed=0, n_jobs=1)
    expected = serial.solve(np.zeros((5, 3)), seed=1).noise
    with joblib.parallel_config(backend="threading"):
        po = perturbopt.perturbed("argmax", num_samples=6, seed=0, n_jobs=2)
        po.solve(np.zeros((2, 3)), seed=1)
        got = po.solve(np.zeros((5, 3)), seed=1).noise
    assert force_dispatch == ["threads", "threads"]
    np.testing.assert_array_equal(got, expected)
