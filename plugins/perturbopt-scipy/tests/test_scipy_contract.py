"""Every SciPy solver against the solver contract (perturbopt.plugin.testing), and the
solvers that release the GIL giving the same answers on two threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import perturbopt
from perturbopt.plugin.testing import SolverCase, parametrize_with_checks

RNG = np.random.default_rng(0)
CASES = {
    "scipy.linprog": (
        {"A_ub": [[1.0, 1.0, 1.0]], "b_ub": [2.0], "bounds": (0, 1), "sense": "max"},
        (3,),
    ),
    "scipy.milp": (
        {"A_ub": [[3.0, 2.0, 2.0]], "b_ub": [4.0], "bounds": (0, 1), "sense": "max"},
        (3,),
    ),
    "scipy.knapsack": ({"weights": [[3.0, 2.0, 2.0], [1.0, 2.5, 1.0]], "capacities": 4}, (3,)),
    "scipy.assignment": ({"shape": (3, 4)}, (3, 4)),
    "scipy.grid_shortest_path": ({"grid": (3, 4)}, (3, 4)),
    "scipy.grid_shortest_path_edges": ({"grid": (3, 3)}, (12,)),
}


@parametrize_with_checks(
    [
        SolverCase(name, RNG.uniform(0.5, 2.0, size=(4, *shape)), options)
        for name, (options, shape) in sorted(CASES.items())
    ]
)
def test_contract(case: SolverCase, check) -> None:  # type: ignore[no-untyped-def]
    check(case)


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n in CASES
        if getattr(perturbopt.Registry.default().solver_entry(n).factory, "releases_gil", False)
    ),
)
def test_solvers_that_release_the_gil_give_the_same_answers_on_two_threads(name: str) -> None:
    options, shape = CASES[name]
    thetas = np.random.default_rng(1).normal(size=(2, 40, *shape))
    expected = [[perturbopt.get_solver(name, **options).solve(t) for t in half] for half in thetas]
    solvers = [perturbopt.get_solver(name, **options) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(lambda k: [solvers[k].solve(t) for t in thetas[k]], (0, 1)))
    np.testing.assert_array_equal(np.array(found), np.array(expected))


def test_the_declared_solvers() -> None:
    declared = {
        entry.name
        for entry in perturbopt.list_solvers()
        if entry.name.startswith("scipy.") and getattr(entry.factory, "releases_gil", False)
    }
    # scipy.knapsack is scipy.milp with the knapsack's constraints
    assert declared == {"scipy.assignment", "scipy.knapsack", "scipy.linprog", "scipy.milp"}
