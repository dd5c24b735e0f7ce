"""scipy.knapsack: against brute force in 1 to 3 dimensions, with real weights; bad options."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from perturbopt_scipy import HighsStatusError, KnapsackSolver

import perturbopt
from perturbopt import problems

NAME = "scipy.knapsack"


def brute_force(theta: np.ndarray, weights: np.ndarray, capacities: np.ndarray) -> float:
    return max(
        float(theta @ np.array(y))
        for y in itertools.product([0, 1], repeat=theta.size)
        if np.all(weights @ np.array(y) <= capacities + 1e-9)
    )


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_against_brute_force(dim: int) -> None:
    rng = np.random.default_rng(10 + dim)
    weights = rng.uniform(1.0, 5.0, size=(dim, 9))  # real weights, many decimals
    capacities = weights.sum(axis=1) * 0.4
    solver = perturbopt.get_solver(NAME, weights=weights, capacities=capacities)
    for _ in range(15):
        theta = rng.normal(1.0, 1.0, size=9)
        y = solver.solve(theta)
        assert y.dtype == np.int8 and np.all(weights @ y <= capacities + 1e-9)
        assert theta @ y == pytest.approx(brute_force(theta, weights, capacities), abs=1e-6)


def test_agrees_with_ortools_on_generated_instances() -> None:
    pytest.importorskip("perturbopt_ortools")
    data = problems.knapsack(20, 5, num_items=16, dim=2, degree=4, noise_width=0.5, seed=3)
    _, ours = data.optimal(solver=data.get_solver(NAME))
    _, cp_sat = data.optimal(solver=data.get_solver("ortools.knapsack"))
    np.testing.assert_allclose(ours, cp_sat)


def test_pickle_round_trip() -> None:
    solver = KnapsackSolver(weights=[3, 4, 2, 5], capacities=7, time_limit=5)
    theta = np.array([4.0, 5.0, 3.0, 7.0])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(solver)).solve(theta), [0, 0, 1, 1])


def test_the_time_limit_raises_rather_than_returning_a_suboptimal_answer() -> None:
    # a hard 2-dimensional knapsack of 200 items cannot be proved optimal in 1 ms
    data = problems.knapsack(1, 5, num_items=200, dim=2, degree=4, noise_width=0.5, seed=0)
    solver = data.get_solver(NAME, time_limit=0.001)
    with pytest.raises(HighsStatusError, match=r"'scipy.knapsack'.*LIMIT"):
        solver.solve(data.c[0])


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"weights": [3, 4], "capacities": 2}, ValueError, r"capacities admit no item"),
        ({"weights": [[3, 4]], "capacities": [5, 5]}, ValueError, r"one per dimension"),
        ({"weights": [3, np.nan], "capacities": 5}, ValueError, r"weights\[0, 1\] = nan"),
        ({"weights": [3, 4], "capacities": -1}, ValueError, r"capacities\[0\] = -1"),
        ({"weights": [3, 4], "capacities": 5, "time_limit": 0}, ValueError, r"time_limit"),
        ({"weights": [3, 4], "capacities": "5"}, TypeError, r"capacities must be numbers"),
    ],
)
def test_bad_options_name_the_option(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=rf"^solver 'scipy.knapsack': .*{match}"):
        perturbopt.get_solver(NAME, **options)
