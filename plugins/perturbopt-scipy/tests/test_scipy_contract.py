"""Every SciPy solver: read-only inputs (the engine passes them), the same answer as
with a writeable copy, solve_batch equal to solve."""

from __future__ import annotations

import numpy as np
import pytest

import perturbopt

CASES = {
    "scipy.linprog": ({"A_ub": [[1.0, 1.0, 1.0]], "b_ub": [2.0], "bounds": (0, 1),
                       "sense": "max"}, (3,)),
    "scipy.milp": ({"A_ub": [[3.0, 2.0, 2.0]], "b_ub": [4.0], "bounds": (0, 1),
                    "sense": "max"}, (3,)),
    "scipy.assignment": ({"shape": (3, 4)}, (3, 4)),
    "scipy.grid_shortest_path": ({"shape": (3, 4)}, (3, 4)),
    "scipy.grid_shortest_path_edges": ({"grid": (3, 3)}, (12,)),
}


def read_only(array: np.ndarray) -> np.ndarray:
    array = array.copy()
    array.setflags(write=False)
    return array


@pytest.mark.parametrize("name", sorted(CASES))
def test_read_only_inputs(name: str) -> None:
    options, shape = CASES[name]
    solver = perturbopt.get_solver(name, **options)
    thetas = np.random.default_rng(0).uniform(0.5, 2.0, size=(4, *shape))
    expected = np.stack([solver.solve(theta.copy()) for theta in thetas])
    for theta, y in zip(thetas, expected):
        np.testing.assert_array_equal(solver.solve(read_only(theta), hint=read_only(y)), y)
    if hasattr(solver, "solve_batch"):
        np.testing.assert_array_equal(
            solver.solve_batch(read_only(thetas), hints=read_only(expected)), expected)
