"""The engine on Ray's joblib backend: bit-identical to one local worker."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

import perturbopt
from perturbopt import _engine

ray = pytest.importorskip("ray")
ray_joblib = pytest.importorskip("ray.util.joblib")


@pytest.fixture(scope="module")
def local_ray():  # type: ignore[no-untyped-def]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    ray_joblib.register_ray()
    yield
    ray.shutdown()


def test_local_ray_is_bit_identical(local_ray, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_engine, "DISPATCH_MARGIN", 0.0)  # dispatch even this small job
    monkeypatch.setattr(_engine, "TRANSFER_SECONDS_PER_BYTE", 0.0)
    monkeypatch.setattr(_engine, "TARGET_TASK_SECONDS", 1e-4)
    theta = np.random.default_rng(0).normal(size=(3, 8))
    options = {"epsilon": 0.5, "num_samples": 40, "noise": "gumbel", "seed": 1}  # > one probe
    serial = perturbopt.perturbed("ranking", n_jobs=1, **options)
    dispatched = []
    original = _engine._solve_on_workers
    monkeypatch.setattr(_engine, "_solve_on_workers",
                        lambda *a, **k: dispatched.append(1) or original(*a, **k))
    with joblib.parallel_config(backend="ray"):
        on_ray = perturbopt.perturbed("ranking", n_jobs=-1, **options)
        results = [on_ray.solve(theta), on_ray.solve(theta)]
    assert len(dispatched) == 2
    assert ray.cluster_resources().get("CPU") == 2
    for expected, got in zip([serial.solve(theta), serial.solve(theta)], results):
        np.testing.assert_array_equal(expected.samples, got.samples)
        np.testing.assert_array_equal(expected.sample_values, got.sample_values)
        assert expected.vjp(np.ones((3, 8))).tobytes() == got.vjp(np.ones((3, 8))).tobytes()
