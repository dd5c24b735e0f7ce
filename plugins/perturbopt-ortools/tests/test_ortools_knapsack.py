"""ortools.knapsack: against brute force in 1 to 3 dimensions; time limits; bad options."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from ortools.sat.python import cp_model
from perturbopt_ortools import KnapsackSolver, StatusError

import perturbopt
from perturbopt import problems

NAME = "ortools.knapsack"


def brute_force(theta: np.ndarray, weights: np.ndarray, capacities: np.ndarray) -> float:
    return max(
        float(theta @ np.array(y))
        for y in itertools.product([0, 1], repeat=theta.size)
        if np.all(weights @ np.array(y) <= capacities + 1e-9)
    )


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_against_brute_force(dim: int) -> None:
    rng = np.random.default_rng(dim)
    weights = rng.integers(300, 800, size=(dim, 9)) / 100  # PyEPO's two decimals
    capacities = np.floor(weights.sum(axis=1) * 0.4)
    solver = perturbopt.get_solver(NAME, weights=weights, capacities=capacities)
    for _ in range(15):
        theta = rng.normal(1.0, 1.0, size=9)  # some values negative: never taken
        y = solver.solve(theta)
        assert y.dtype == np.int8 and set(np.unique(y)) <= {0, 1}
        assert np.all(weights @ y <= capacities + 1e-9)
        assert theta @ y == pytest.approx(brute_force(theta, weights, capacities), abs=1e-5)


def test_capacities_on_the_boundary_are_exact() -> None:
    # 1.1 + 2.2 = 3.3000000000000003 in floats; scaled to integers it is 33 <= 33
    solver = KnapsackSolver(weights=[1.1, 2.2, 3.4], capacities=3.3)
    np.testing.assert_array_equal(solver.solve(np.array([1.0, 1.0, 1.5])), [1, 1, 0])
    too_many = KnapsackSolver(weights=[[1.0, 1.0]], capacities=[1.999999])
    assert too_many.solve(np.array([1.0, 1.0])).sum() == 1
    # 0.29 * 100 = 28.999999999999996: the capacity must still admit the item of weight 0.29
    just = KnapsackSolver(weights=[0.29, 0.5], capacities=0.29)
    np.testing.assert_array_equal(just.solve(np.array([1.0, 2.0])), [1, 0])


def test_generated_instances_and_the_perturbed_mean() -> None:
    data = problems.knapsack(5, 4, num_items=10, dim=2, degree=2, noise_width=0.3, seed=2)
    solver = data.get_solver()
    assert isinstance(solver, KnapsackSolver)
    weights, capacities = data.solver_options["weights"], data.solver_options["capacities"]
    for c in data.c[:3].astype(np.float64):
        assert c @ solver.solve(c) == pytest.approx(brute_force(c, weights, capacities))
    po = perturbopt.perturbed(
        NAME, solver_options=data.solver_options, epsilon=1.0, num_samples=20, seed=0
    )
    mean = po(data.c[0])
    assert np.all(weights @ mean <= capacities + 1e-9) and 0 < mean.sum()


def test_pickle_and_hint() -> None:
    solver = KnapsackSolver(weights=[[3, 4, 2, 5]], capacities=[7], time_limit=5.0)
    theta = np.array([4.0, 5.0, 3.0, 7.0])
    copy = pickle.loads(pickle.dumps(solver))
    expected = solver.solve(theta)
    np.testing.assert_array_equal(copy.solve(theta), expected)
    np.testing.assert_array_equal(solver.solve(theta, hint=np.array([1, 0, 1, 0])), expected)


class _StopsEarly:
    """A CpSolver stand-in: solves, then reports FEASIBLE, as after a time limit."""

    def __init__(self, solver: cp_model.CpSolver) -> None:
        self._solver = solver

    def solve(self, model: cp_model.CpModel) -> object:
        self._solver.solve(model)
        return cp_model.FEASIBLE

    @property
    def response_proto(self) -> object:
        return self._solver.response_proto


def test_a_solve_stopped_by_the_time_limit_raises_or_warns() -> None:
    theta = np.array([4.0, 5.0, 3.0, 7.0])
    strict = KnapsackSolver(weights=[3, 4, 2, 5], capacities=7, time_limit=1.0)
    strict._solver = _StopsEarly(strict._solver)
    with pytest.raises(StatusError, match=r"'ortools.knapsack'.*FEASIBLE.*allow_feasible=True"):
        strict.solve(theta)
    lenient = KnapsackSolver(
        weights=[3, 4, 2, 5], capacities=7, time_limit=1.0, allow_feasible=True
    )
    lenient._solver = _StopsEarly(lenient._solver)
    with pytest.warns(RuntimeWarning, match=r"best solution found"):
        y = lenient.solve(theta)
    assert np.array([3, 4, 2, 5]) @ y <= 7


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"weights": [3, 4], "capacities": [2]}, ValueError, r"capacities admit no item"),
        ({"weights": [[3, 4]], "capacities": [5, 5]}, ValueError, r"one per dimension \(1"),
        ({"weights": [3, -4], "capacities": 5}, ValueError, r"weights\[0, 1\] = -4"),
        ({"weights": [3, 4], "capacities": np.inf}, ValueError, r"capacities.*finite"),
        ({"weights": [], "capacities": 5}, ValueError, r"at least one item"),
        ({"weights": ["a"], "capacities": 5}, TypeError, r"weights must be numbers"),
        ({"weights": [1 / 3, 1], "capacities": 5}, ValueError, r"at most 6 decimals"),
        ({"weights": [3, 4], "capacities": 5, "time_limit": 0}, ValueError, r"time_limit"),
        ({"weights": [3, 4], "capacities": 5, "num_workers": 0}, ValueError, r"num_workers"),
        ({"weights": [3, 4], "capacities": 5, "allow_feasible": 1}, TypeError, r"allow_feas"),
    ],
)
def test_bad_options_name_the_option(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=rf"^solver 'ortools.knapsack': .*{match}"):
        perturbopt.get_solver(NAME, **options)


def test_theta_of_the_wrong_shape() -> None:
    solver = KnapsackSolver(weights=[3, 4, 2], capacities=5)
    with pytest.raises(ValueError, match=r"shape \(3,\) \(one value per item\)"):
        solver.solve(np.ones(4))
