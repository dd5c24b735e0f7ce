"""The networkx plugin registers through perturbopt's entry point and hook, its solvers
keep the solver contract (perturbopt.plugin.testing), and its docstring examples run."""

from __future__ import annotations

import doctest
import importlib

import networkx as nx
import numpy as np
import perturbopt_networkx
import pytest

import perturbopt
from perturbopt.plugin.testing import SolverCase, parametrize_with_checks

GRAPH = nx.cycle_graph(4)
EDGES = list(GRAPH.edges)
SOLVERS = {
    "networkx.spanning_tree": {"edges": EDGES},
    "networkx.min_cut": {"edges": EDGES, "directed": False, "source": 0, "target": 2},
    "networkx.shortest_path": {"edges": EDGES, "directed": False, "source": 0, "target": 2},
    "networkx.matching": {"edges": EDGES},
}


def test_installed_entry_point_provides_every_solver() -> None:
    entries = {e.name: e for e in perturbopt.list_solvers() if e.name.startswith("networkx.")}
    assert set(entries) == set(SOLVERS)
    assert {e.distribution for e in entries.values()} == {"perturbopt-networkx"}
    assert all(isinstance(e.factory, type) and e.description for e in entries.values())


def test_hook_registers_on_a_fresh_registry() -> None:
    registry = perturbopt.Registry(autoload=False)
    registry.register_plugin(perturbopt_networkx, name="networkx")
    assert registry.get_solver("networkx.matching", edges=EDGES).edges == EDGES


@parametrize_with_checks(
    [
        SolverCase(name, np.random.default_rng(0).uniform(0.5, 2.0, size=(4, 4)), options)
        for name, options in sorted(SOLVERS.items())
    ]
)
def test_contract(case: SolverCase, check) -> None:  # type: ignore[no-untyped-def]
    check(case)


@pytest.mark.parametrize(
    "module", ["__init__", "_matching", "_min_cut", "_shortest_path", "_spanning_tree"]
)
def test_docstring_examples(module: str) -> None:
    name = "perturbopt_networkx" + ("" if module == "__init__" else "." + module)
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
