"""Perturbed solves on Ray: the same bits as one local process.

Starts a local Ray with two CPUs (for a running cluster use ``ray.init(address="auto")``),
solves perturbed assignment problems through Ray's joblib backend, and checks the
samples against ``n_jobs=1``.

Run: python examples/ray_cluster.py   (needs ``pip install ray`` and perturbopt-ortools)
"""

from __future__ import annotations

import joblib
import numpy as np
import ray
from ray.util.joblib import register_ray

import perturbopt


def main() -> None:
    costs = np.random.default_rng(0).random((4, 50, 50))  # 4 assignment problems, 50 x 50
    options = {"epsilon": 0.2, "num_samples": 100, "seed": 0}  # 400 solves, ~1 ms each
    serial = perturbopt.perturbed("ortools.assignment", n_jobs=1, **options).solve(costs)
    ray.init(num_cpus=2, include_dashboard=False)
    register_ray()
    try:
        with joblib.parallel_config(backend="ray"):
            on_ray = perturbopt.perturbed("ortools.assignment", n_jobs=-1, **options).solve(costs)
        print("Ray CPUs:", ray.cluster_resources().get("CPU"))
    finally:
        ray.shutdown()
    np.testing.assert_array_equal(serial.samples, on_ray.samples)
    print("P(row 0 takes column j), first 5 columns:", on_ray.mean[0, 0, :5].round(2))
    print("bit-identical to n_jobs=1")


if __name__ == "__main__":
    main()
