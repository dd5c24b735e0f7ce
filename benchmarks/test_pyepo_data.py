"""perturbopt.problems draws PyEPO's instances: for one seed, the same features, costs and
knapsack weights as ``pyepo.data``, bit for bit.

PyEPO is never a dependency: this test runs in the benchmarks' own venv, where it is
installed (see bench_pyepo.py), and is skipped elsewhere::

    benchmarks/.env/bin/python -m pytest -q -p no:cacheprovider benchmarks/test_pyepo_data.py
"""

from __future__ import annotations

import numpy as np
import pytest

from perturbopt import problems

pytest.importorskip("pyepo")

from pyepo.data import knapsack, shortestpath, tsp

SETTINGS = [(0, 1, 0.0), (135, 4, 0.5), (7, 2, 0.25), (42, 6, 0.9)]


@pytest.mark.parametrize("seed, degree, noise_width", SETTINGS)
def test_shortest_path(seed: int, degree: int, noise_width: float) -> None:
    x, c = shortestpath.genData(300, 5, (5, 5), deg=degree, noise_width=noise_width, seed=seed)
    ours = problems.shortest_path(300, 5, (5, 5), degree, noise_width, seed)
    np.testing.assert_array_equal(ours.x, x)
    np.testing.assert_array_equal(ours.c, c)
    assert ours.c.dtype == c.dtype


@pytest.mark.parametrize("seed, degree, noise_width", SETTINGS)
def test_knapsack(seed: int, degree: int, noise_width: float) -> None:
    weights, x, c = knapsack.genData(300, 5, 32, 3, deg=degree, noise_width=noise_width, seed=seed)
    ours = problems.knapsack(300, 5, 32, 3, degree, noise_width, seed)
    np.testing.assert_array_equal(ours.solver_options["weights"], weights)
    np.testing.assert_array_equal(ours.x, x)
    np.testing.assert_array_equal(ours.c, c)


@pytest.mark.parametrize("seed, degree, noise_width", SETTINGS)
def test_tsp(seed: int, degree: int, noise_width: float) -> None:
    x, c = tsp.genData(300, 5, 20, deg=degree, noise_width=noise_width, seed=seed)
    ours = problems.tsp(300, 5, 20, degree, noise_width, seed)
    np.testing.assert_array_equal(ours.x, x)
    np.testing.assert_array_equal(ours.c, c)
