"""ortools.tsp: tours against brute force, PyEPO's edge order, time limits, bad options."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from ortools.sat.python import cp_model
from perturbopt_ortools import StatusError, TspSolver

import perturbopt
from perturbopt import problems

NAME = "ortools.tsp"


def tours(n: int) -> list[np.ndarray]:
    """Every Hamiltonian cycle of K_n as a 0/1 vector over combinations(range(n), 2)."""
    index = {edge: k for k, edge in enumerate(itertools.combinations(range(n), 2))}
    found = []
    for order in itertools.permutations(range(1, n)):
        if order[0] > order[-1]:
            continue  # each cycle once, not in both directions
        cycle = (0, *order, 0)
        y = np.zeros(len(index))
        for a, b in itertools.pairwise(cycle):
            y[index[min(a, b), max(a, b)]] = 1
        found.append(y)
    return found


def is_tour(y: np.ndarray, n: int) -> bool:
    edges = [e for e, chosen in zip(itertools.combinations(range(n), 2), y, strict=True) if chosen]
    degree = np.zeros(n, dtype=int)
    for a, b in edges:
        degree[a] += 1
        degree[b] += 1
    seen, stack = {0}, [0]
    while stack:  # connected
        node = stack.pop()
        for a, b in edges:
            for u, v in ((a, b), (b, a)):
                if u == node and v not in seen:
                    seen.add(v)
                    stack.append(v)
    return len(edges) == n and bool(np.all(degree == 2)) and len(seen) == n


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_against_brute_force(n: int) -> None:
    solver = perturbopt.get_solver(NAME, num_nodes=n)
    every = np.array(tours(n))
    rng = np.random.default_rng(n)
    for _ in range(10):
        theta = rng.normal(size=n * (n - 1) // 2)  # costs of any sign
        y = solver.solve(theta)
        assert y.dtype == np.int8 and is_tour(y, n)
        assert theta @ y == pytest.approx((every @ theta).min(), abs=1e-5)


def test_generated_instances_use_the_same_edge_order() -> None:
    data = problems.tsp(4, 3, num_nodes=6, degree=2, noise_width=0.5, seed=1)
    solver = data.get_solver()
    assert solver.edges == problems.tsp_edges(6)
    every = np.array(tours(6))
    w, z = data.optimal(solver=solver)
    np.testing.assert_allclose(z, (every @ data.c.astype(np.float64).T).min(axis=0), atol=1e-5)
    assert all(is_tour(y, 6) for y in w)


def test_perturbed_mean_and_warm_start() -> None:
    theta = problems.tsp(1, 3, num_nodes=7, seed=0).c[0]
    po = perturbopt.perturbed(
        NAME, solver_options={"num_nodes": 7}, epsilon=0.5, num_samples=8, seed=0
    )
    warm = perturbopt.perturbed(
        NAME,
        solver_options={"num_nodes": 7},
        epsilon=0.5,
        num_samples=8,
        seed=0,
        warm_start=True,
    )
    mean = po(theta)
    assert mean.sum() == pytest.approx(7) and np.all((0 <= mean) & (mean <= 1))
    np.testing.assert_array_equal(warm(theta), mean)


def test_pickle_round_trip() -> None:
    solver = TspSolver(num_nodes=5, time_limit=None)
    theta = np.random.default_rng(0).uniform(1, 2, size=10)
    copy = pickle.loads(pickle.dumps(solver))
    np.testing.assert_array_equal(copy.solve(theta), solver.solve(theta))
    assert repr(copy) == "TspSolver(num_nodes=5)"


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


def test_a_solve_stopped_without_proof_raises_or_warns() -> None:
    theta = np.random.default_rng(1).uniform(1, 2, size=10)
    strict = TspSolver(num_nodes=5, time_limit=2.0)
    strict._solver = _StopsEarly(strict._solver)
    with pytest.raises(StatusError, match=r"FEASIBLE: the time limit \(2.0 s\).*allow_feasible"):
        strict.solve(theta)
    lenient = TspSolver(num_nodes=5, time_limit=2.0, allow_feasible=True)
    lenient._solver = _StopsEarly(lenient._solver)
    with pytest.warns(RuntimeWarning, match=r"'ortools.tsp'.*best solution found"):
        assert is_tour(lenient.solve(theta), 5)


def test_a_real_time_limit_never_returns_silently() -> None:
    # 60 nodes in 1 ms: CP-SAT stops with FEASIBLE or UNKNOWN, never claims OPTIMAL
    solver = TspSolver(num_nodes=60, time_limit=0.001)
    theta = problems.tsp(1, 3, num_nodes=60, seed=0).c[0]
    with pytest.raises(StatusError, match=r"'ortools.tsp'.*time limit \(0.001 s\)"):
        solver.solve(theta)


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"num_nodes": 2}, ValueError, r"num_nodes must be >= 3, got 2"),
        ({"num_nodes": 4.0}, TypeError, r"num_nodes must be an integer"),
        ({"num_nodes": 4, "time_limit": -1}, ValueError, r"time_limit"),
        ({"num_nodes": 4, "resolution": 0}, ValueError, r"resolution"),
        ({"num_nodes": 4, "allow_feasible": "yes"}, TypeError, r"allow_feasible"),
    ],
)
def test_bad_options_name_the_option(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=rf"^solver 'ortools.tsp': {match}"):
        perturbopt.get_solver(NAME, **options)


def test_theta_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"takes instances of shape \(6,\) \(one cost per edge"):
        TspSolver(num_nodes=4).solve(np.ones(5))
