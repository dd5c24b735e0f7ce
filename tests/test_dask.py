"""The engine on a Dask cluster: bit-identical to one local worker."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

import perturbopt

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client():  # type: ignore[no-untyped-def]
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
    perturbopt.shutdown_pools()


def test_local_cluster_of_two_processes_is_bit_identical(dask_client, force_dispatch) -> None:  # type: ignore[no-untyped-def]
    theta = np.random.default_rng(0).normal(size=(3, 8))
    options = {"epsilon": 0.5, "num_samples": 40, "noise": "gumbel", "seed": 1}  # > one probe
    serial = perturbopt.perturbed("ranking", n_jobs=1, **options)
    with joblib.parallel_config(backend="dask"):
        on_cluster = perturbopt.perturbed("ranking", n_jobs=-1, **options)
        results = [on_cluster.solve(theta), on_cluster.solve(theta)]
    assert force_dispatch == ["joblib", "joblib"]
    assert len(dask_client.scheduler_info()["workers"]) == 2
    for expected, got in zip([serial.solve(theta), serial.solve(theta)], results, strict=True):
        np.testing.assert_array_equal(expected.samples, got.samples)
        np.testing.assert_array_equal(expected.sample_values, got.sample_values)
        assert expected.vjp(np.ones((3, 8))).tobytes() == got.vjp(np.ones((3, 8))).tobytes()
