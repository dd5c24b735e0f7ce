"""The networkx plugin registers through perturbopt's entry point and hook, with picklable
factories, and its docstring examples run."""

from __future__ import annotations

import doctest
import importlib
import pickle

import networkx as nx
import numpy as np
import perturbopt_networkx
import pytest

import perturbopt

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


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_factory_and_options_pickle_and_rebuild(name: str) -> None:
    factory = perturbopt.Registry.default().solver_entry(name).factory
    rebuilt_factory, options = pickle.loads(pickle.dumps((factory, SOLVERS[name])))
    solver = rebuilt_factory(**options)
    assert solver.name == name and solver.sense in ("max", "min")
    assert solver.shape == (GRAPH.number_of_edges(),)
    theta = np.array([1.0, 2.0, 4.0, 3.0])
    np.testing.assert_array_equal(solver.solve(theta), factory(**SOLVERS[name]).solve(theta))


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_read_only_inputs(name: str) -> None:
    solver = perturbopt.get_solver(name, **SOLVERS[name])
    theta = np.array([1.0, 2.0, 4.0, 3.0])
    expected = solver.solve(theta.copy())
    theta.setflags(write=False)
    hint = expected.copy()
    hint.setflags(write=False)
    np.testing.assert_array_equal(solver.solve(theta, hint=hint), expected)


@pytest.mark.parametrize(
    "module", ["__init__", "_matching", "_min_cut", "_shortest_path", "_spanning_tree"]
)
def test_docstring_examples(module: str) -> None:
    name = "perturbopt_networkx" + ("" if module == "__init__" else "." + module)
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
