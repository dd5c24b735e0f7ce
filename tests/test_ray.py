"""The engine on Ray's joblib backend: bit-identical to one local worker, and the
workers (with the solvers they built) kept across calls."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cloudpickle
import joblib
import numpy as np
import pytest

import perturbopt

ray = pytest.importorskip("ray")
ray_joblib = pytest.importorskip("ray.util.joblib")

cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def local_ray():  # type: ignore[no-untyped-def]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray_joblib.register_ray()
    yield
    perturbopt.shutdown_pools()
    ray.shutdown()


class LoggedRanking:
    """Ranks, writing a line to a file each time a worker unpickles its copy."""

    sense = "max"
    name = "logged-ranking"

    def __init__(self, log: str) -> None:
        self.log = log

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        with open(self.log, "a") as handle:
            handle.write("built\n")

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        return np.argsort(np.argsort(theta)) + 1


def test_local_ray_is_bit_identical(local_ray, force_dispatch) -> None:  # type: ignore[no-untyped-def]
    theta = np.random.default_rng(0).normal(size=(3, 8))
    options = {"epsilon": 0.5, "num_samples": 40, "noise": "gumbel", "seed": 1}  # > one probe
    serial = perturbopt.perturbed("ranking", n_jobs=1, **options)
    with joblib.parallel_config(backend="ray"):
        on_ray = perturbopt.perturbed("ranking", n_jobs=-1, **options)
        results = [on_ray.solve(theta), on_ray.solve(theta)]
    assert force_dispatch == ["joblib", "joblib"]
    assert ray.cluster_resources().get("CPU") == 2
    for expected, got in zip([serial.solve(theta), serial.solve(theta)], results, strict=True):
        np.testing.assert_array_equal(expected.samples, got.samples)
        np.testing.assert_array_equal(expected.sample_values, got.sample_values)
        assert expected.vjp(np.ones((3, 8))).tobytes() == got.vjp(np.ones((3, 8))).tobytes()


def test_ray_workers_keep_their_solver_across_calls(
    local_ray,
    force_dispatch,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    log = tmp_path / "builds.log"
    theta = np.random.default_rng(1).normal(size=(4, 6))
    with joblib.parallel_config(backend="ray"):
        po = perturbopt.perturbed(LoggedRanking(str(log)), num_samples=30, n_jobs=2, seed=0)
        assert len(log.read_text().splitlines()) == 1  # the caller's frozen copy
        for _ in range(4):
            po.solve(theta)
    assert force_dispatch == ["joblib"] * 4
    assert 2 <= len(log.read_text().splitlines()) <= 3  # once per worker, not per call


PARENT = os.getpid()


class DiesInWorkers:
    """Ranks in the calling process; kills the Ray worker that solves it."""

    sense = "max"
    name = "dies-in-workers"

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        if os.getpid() != PARENT:
            os._exit(3)
        return np.argsort(np.argsort(theta)) + 1.0


def test_a_dying_ray_worker_is_a_solver_crash_naming_a_sample(local_ray, force_dispatch) -> None:  # type: ignore[no-untyped-def]
    theta = np.random.default_rng(2).normal(size=(2, 5))
    with joblib.parallel_config(backend="ray"):
        po = perturbopt.perturbed(DiesInWorkers(), num_samples=12, n_jobs=2, seed=0)
        with pytest.raises(perturbopt.SolverCrashError, match="Ray") as caught:
            po.solve(theta)
    assert force_dispatch == ["joblib"]
    assert caught.value.solver == "dies-in-workers"
    assert caught.value.sample is not None
