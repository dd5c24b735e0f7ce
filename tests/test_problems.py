"""perturbopt.problems: the generators' formulas, shapes, seeds and bad arguments."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from perturbopt import problems


def test_shortest_path_follows_the_formula() -> None:
    data = problems.shortest_path(50, 4, grid=(3, 4), degree=3, noise_width=0.0, seed=5)
    assert data.c.shape == (50, 3 * 3 + 2 * 4) and data.c.dtype == np.float32
    assert data.x.shape == (50, 4) and data.sense == "min"
    # without noise c = ((B x / sqrt p + 3)^deg + 1) / 3.5^deg for a 0/1 matrix B: recover
    # B from the (linear) cube root and check it is 0/1
    inner = np.cbrt(data.c.astype(np.float64) * 3.5**3 - 1) - 3
    B, *_ = np.linalg.lstsq(data.x / 2.0, inner, rcond=None)
    np.testing.assert_allclose(B, np.round(B), atol=1e-4)
    assert set(np.unique(np.round(B))) <= {0.0, 1.0}


def test_noise_is_multiplicative_within_its_width() -> None:
    clean = problems.knapsack(200, 3, num_items=6, noise_width=0.0, seed=1)
    noisy = problems.shortest_path(2000, 3, degree=2, noise_width=0.5, seed=1)
    plain = problems.shortest_path(2000, 3, degree=2, noise_width=0.0, seed=1)
    np.testing.assert_array_equal(noisy.x, plain.x)  # the noise is drawn last
    ratio = noisy.c / plain.c
    assert 0.5 <= ratio.min() < 0.52 and 1.48 < ratio.max() <= 1.5
    assert np.all(clean.c == np.ceil(clean.c)) and clean.sense == "max"


def test_knapsack_weights_capacities_and_values() -> None:
    data = problems.knapsack(100, 5, num_items=32, dim=3, degree=4, noise_width=0.5, seed=0)
    weights = data.solver_options["weights"]
    assert weights.shape == (3, 32) and 3.0 <= weights.min() and weights.max() <= 7.99
    np.testing.assert_allclose(weights * 100, np.round(weights * 100), atol=1e-9)  # 2 decimals
    np.testing.assert_array_equal(
        data.solver_options["capacities"], np.floor(weights.sum(axis=1) / 2)
    )
    assert data.c.min() >= 1 and data.solvers == ("ortools.knapsack", "scipy.knapsack")
    fixed = problems.knapsack(5, 5, num_items=32, dim=3, seed=0, capacity=20)
    np.testing.assert_array_equal(fixed.solver_options["capacities"], [20, 20, 20])
    np.testing.assert_array_equal(fixed.solver_options["weights"], weights)


def test_tsp_costs_are_distances_plus_features() -> None:
    data = problems.tsp(300, 4, num_nodes=5, degree=1, noise_width=0.0, seed=2)
    assert data.c.shape == (300, 10)
    # degree 1 without noise: c = dist + (B x / sqrt p + 3), affine in x
    design = np.hstack([data.x, np.ones((300, 1))])
    coef, *_ = np.linalg.lstsq(design, data.c.astype(np.float64), rcond=None)
    assert np.abs(design @ coef - data.c).max() < 1e-3  # rounded to 4 decimals
    distances = coef[-1] - 3  # the intercept minus 3 is the Euclidean distance
    assert np.all(distances > 0)
    assert problems.tsp_edges(5)[:4] == [(0, 1), (0, 2), (0, 3), (0, 4)]


@pytest.mark.parametrize("make", ["shortest_path", "knapsack", "tsp"])
def test_one_seed_one_data_set(make: str) -> None:
    args = {"shortest_path": (30, 5), "knapsack": (30, 5, 8), "tsp": (30, 5, 6)}[make]
    generate = getattr(problems, make)
    first, again, other = generate(*args, seed=3), generate(*args, seed=3), generate(*args, seed=4)
    np.testing.assert_array_equal(first.c, again.c)
    np.testing.assert_array_equal(first.x, again.x)
    assert not np.array_equal(first.c, other.c)
    assert generate(**first.arguments).c.tobytes() == first.c.tobytes()


def test_problem_data_rows_split_and_optimum() -> None:
    data = problems.shortest_path(20, 5, grid=(4, 4), degree=2, seed=0)
    train, test = data.split(15)
    assert (len(train), len(test)) == (15, 5)
    np.testing.assert_array_equal(test.c, data.c[15:])
    w, z = test.optimal()
    assert w.shape == (5, 24) and np.all(w.sum(axis=1) == 6)
    np.testing.assert_allclose(z, np.einsum("ij,ij->i", test.c, w), rtol=1e-6)
    worse = np.einsum("ij,ij->i", test.c, test.optimal(np.ones((5, 24)))[0])
    assert np.all(z <= worse + 1e-6)
    with pytest.raises(ValueError, match=r"split\(\): num_first must be in 1 \.\. 19"):
        data.split(20)
    with pytest.raises(IndexError, match=r"use data.x\[i\]"):
        data[3]
    with pytest.raises(ValueError, match=r"optimal\(\): costs must have shape \(n, 24\)"):
        test.optimal(np.ones((5, 23)))
    assert "20 instances" in repr(data)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: problems.shortest_path(0, 5), ValueError, r"shortest_path\(\): num_data must"),
        (lambda: problems.shortest_path(10, 5.0), TypeError, r"num_features must be an integer"),
        (lambda: problems.shortest_path(10, 5, degree=0), ValueError, r"degree must be .* got 0"),
        (lambda: problems.shortest_path(10, 5, degree=1.5), TypeError, r"degree must be"),
        (lambda: problems.shortest_path(10, 5, noise_width=1.0), ValueError, r"noise_width"),
        (lambda: problems.shortest_path(10, 5, noise_width=-0.1), ValueError, r"noise_width"),
        (lambda: problems.shortest_path(10, 5, noise_width="0"), TypeError, r"noise_width"),
        (lambda: problems.shortest_path(10, 5, grid=(1, 1)), ValueError, r"grid must be"),
        (lambda: problems.shortest_path(10, 5, grid=5), TypeError, r"grid must be a pair"),
        (lambda: problems.shortest_path(10, 5, seed=-1), ValueError, r"seed must be"),
        (lambda: problems.shortest_path(10, 5, seed=None), TypeError, r"seed must be"),
        (lambda: problems.knapsack(10, 5, num_items=0), ValueError, r"num_items must be"),
        (lambda: problems.knapsack(10, 5, 8, dim=0), ValueError, r"knapsack\(\): dim must be"),
        (lambda: problems.knapsack(10, 5, 8, capacity=2), ValueError, r"capacities admit no"),
        (lambda: problems.knapsack(10, 5, 8, dim=2, capacity=[9]), ValueError, r"capacities"),
        (lambda: problems.knapsack(10, 5, 8, capacity=-1), ValueError, r"capacities\[0\] = -1"),
        (lambda: problems.tsp(10, 5, num_nodes=2), ValueError, r"tsp\(\): num_nodes must be"),
        (lambda: problems.tsp(10, 5, 6, degree=-2), ValueError, r"tsp\(\): degree must be"),
    ],
)
def test_impossible_arguments_name_the_argument(
    call: Callable[[], object], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        call()
