"""Perturbed solves on a Dask cluster: the same bits as one local process.

Starts a LocalCluster of two worker processes (for a real cluster use
``Client("tcp://scheduler:8786")`` instead), solves perturbed assignment problems
through joblib's Dask backend, and checks the samples against ``n_jobs=1``.

Run: python examples/dask_cluster.py   (needs perturbopt[dask] and perturbopt-ortools)
"""

from __future__ import annotations

import joblib
import numpy as np
from distributed import Client, LocalCluster

import perturbopt


def main() -> None:
    costs = np.random.default_rng(0).random((4, 50, 50))  # 4 assignment problems, 50 x 50
    options = {"epsilon": 0.2, "num_samples": 100, "seed": 0}  # 400 solves, ~1 ms each
    serial = perturbopt.perturbed("ortools.assignment", n_jobs=1, **options).solve(costs)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
        joblib.parallel_config(backend="dask"),
    ):
        print("Dask workers:", len(client.scheduler_info()["workers"]))
        on_cluster = perturbopt.perturbed("ortools.assignment", n_jobs=-1, **options).solve(costs)
    np.testing.assert_array_equal(serial.samples, on_cluster.samples)
    print("P(row 0 takes column j), first 5 columns:", on_cluster.mean[0, 0, :5].round(2))
    print("bit-identical to n_jobs=1")


if __name__ == "__main__":
    main()
