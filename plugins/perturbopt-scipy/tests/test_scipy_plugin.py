"""The scipy plugin registers through perturbopt's entry point and hook, and its
docstring examples run (the contract, pickling included: test_scipy_contract.py)."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import perturbopt_scipy
import pytest

import perturbopt

SOLVERS = {
    "scipy.linprog": {"A_ub": np.ones((1, 2)), "b_ub": np.ones(1)},
    "scipy.milp": {"A_ub": np.ones((1, 2)), "b_ub": np.ones(1), "sense": "max"},
    "scipy.knapsack": {"weights": [[1.0, 2.0]], "capacities": [2.0]},
    "scipy.assignment": {"shape": (2, 2)},
    "scipy.grid_shortest_path": {"grid": (2, 3)},
    "scipy.grid_shortest_path_edges": {"grid": (2, 3)},
}


def test_installed_entry_point_provides_every_solver() -> None:
    entries = {e.name: e for e in perturbopt.list_solvers() if e.name.startswith("scipy.")}
    assert set(entries) == set(SOLVERS)
    assert {e.distribution for e in entries.values()} == {"perturbopt-scipy"}
    assert all(isinstance(e.factory, type) and e.description for e in entries.values())


def test_hook_registers_on_a_fresh_registry() -> None:
    registry = perturbopt.Registry(autoload=False)
    registry.register_plugin(perturbopt_scipy, name="scipy")
    assert registry.get_solver("scipy.assignment").name == "scipy.assignment"


@pytest.mark.parametrize(
    "module", ["__init__", "_assignment", "_grid_arcs", "_grid_vertices", "_linprog", "_milp"]
)
def test_docstring_examples(module: str) -> None:
    name = "perturbopt_scipy" + ("" if module == "__init__" else "." + module)
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
