"""The engine on a Dask cluster: bit-identical to one local worker."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

import perturbopt
from perturbopt import _engine

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client():  # type: ignore[no-untyped-def]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


def test_local_cluster_of_two_processes_is_bit_identical(dask_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_engine, "DISPATCH_MARGIN", 0.0)  # dispatch even this small job
    monkeypatch.setattr(_engine, "TRANSFER_SECONDS_PER_BYTE", 0.0)
    monkeypatch.setattr(_engine, "TARGET_TASK_SECONDS", 1e-4)
    theta = np.random.default_rng(0).normal(size=(3, 8))
    options = dict(epsilon=0.5, num_samples=40, noise="gumbel", seed=1)  # > one probe
    serial = perturbopt.perturbed("ranking", n_jobs=1, **options)
    dispatched = []
    original = _engine._solve_on_workers
    monkeypatch.setattr(_engine, "_solve_on_workers",
                        lambda *a, **k: dispatched.append(1) or original(*a, **k))
    with joblib.parallel_config(backend="dask"):
        on_cluster = perturbopt.perturbed("ranking", n_jobs=-1, **options)
        results = [on_cluster.solve(theta), on_cluster.solve(theta)]
    assert len(dispatched) == 2
    assert len(dask_client.scheduler_info()["workers"]) == 2
    for expected, got in zip([serial.solve(theta), serial.solve(theta)], results):
        np.testing.assert_array_equal(expected.samples, got.samples)
        np.testing.assert_array_equal(expected.sample_values, got.sample_values)
        assert expected.vjp(np.ones((3, 8))).tobytes() == got.vjp(np.ones((3, 8))).tobytes()
