"""networkx.shortest_path: brute force over all simple paths, flow conservation, torch
gradients and error messages."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from perturbopt_networkx import ShortestPathSolver

import perturbopt

NAME = "networkx.shortest_path"


def directed_graph() -> nx.DiGraph:
    """A 3 x 3 grid with arcs both ways between neighbours, nodes 0..8, plus one shortcut."""
    graph = nx.convert_node_labels_to_integers(nx.grid_2d_graph(3, 3).to_directed())
    graph.add_edge(1, 5)
    return graph


def all_paths(graph: nx.Graph, source: int, target: int) -> np.ndarray:
    index = {edge: k for k, edge in enumerate(graph.edges)}
    if not graph.is_directed():
        index.update({(v, u): k for (u, v), k in list(index.items())})
    paths = []
    for path in nx.all_simple_paths(graph, source, target):
        y = np.zeros(graph.number_of_edges(), dtype=np.int8)
        y[[index[e] for e in zip(path[:-1], path[1:])]] = 1
        paths.append(y)
    return np.array(paths)


@pytest.mark.parametrize("graph, target", [(directed_graph(), 8), (nx.petersen_graph(), 7)],
                         ids=["directed", "undirected"])
def test_matches_brute_force(graph: nx.Graph, target: int) -> None:
    rng = np.random.default_rng(0)
    paths = all_paths(graph, 0, target)
    solver = perturbopt.get_solver(NAME, graph=graph, source=0, target=target)
    for _ in range(5):
        theta = rng.uniform(0, 2, size=len(solver.edges))
        np.testing.assert_array_equal(solver.solve(theta), paths[np.argmin(paths @ theta)])


def test_perturbed_mean_is_a_unit_flow_and_converges() -> None:
    rng = np.random.default_rng(1)
    graph = directed_graph()
    options = {"graph": graph, "source": 0, "target": 8}
    theta = rng.uniform(0.5, 2, size=graph.number_of_edges())
    hard = ShortestPathSolver(**options).solve(theta)
    mean = perturbopt.perturbed(NAME, solver_options=options, epsilon=1.0, num_samples=200,
                                perturbation="multiplicative", seed=0)(theta)
    incidence = nx.incidence_matrix(graph, oriented=True).toarray()  # -1 at the tail
    supply = np.zeros(graph.number_of_nodes())
    supply[0], supply[8] = -1, 1
    np.testing.assert_allclose(incidence @ mean, supply, atol=1e-12)
    assert np.abs(mean - hard).max() > 0.1
    narrow = perturbopt.perturbed(NAME, solver_options=options, epsilon=1e-5, num_samples=20,
                                  perturbation="multiplicative", seed=0)(theta)
    np.testing.assert_array_equal(narrow, hard)


def test_undirected_edges_are_used_in_either_direction() -> None:
    graph = nx.Graph([(1, 0), (2, 1), (2, 3)])
    solver = ShortestPathSolver(graph=graph, source=3, target=0)
    np.testing.assert_array_equal(solver.solve(np.ones(3)), [1, 1, 1])


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(2)
    graph = nx.petersen_graph()
    theta, g = rng.uniform(0.5, 2, size=15), rng.normal(size=15)
    kwargs = dict(epsilon=0.5, num_samples=50, seed=0, perturbation="multiplicative",
                  solver_options={"graph": graph, "source": 0, "target": 7})
    theta_t = torch.tensor(theta, requires_grad=True)
    y = tp.PerturbedOptimizer(NAME, **kwargs)(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_disconnected_source_and_target() -> None:
    graph = nx.DiGraph([("a", "b"), ("c", "b")])
    with pytest.raises(ValueError, match=r"networkx\.shortest_path: there is no path from "
                                         r"source='a' to target='c'"):
        ShortestPathSolver(graph=graph, source="a", target="c")
    with pytest.raises(ValueError, match=r"no path from source='a' to target='c'"):
        perturbopt.perturbed(NAME, solver_options={"graph": graph, "source": "a",
                                                   "target": "c"})


def test_negative_lengths_and_wrong_shape() -> None:
    solver = ShortestPathSolver(graph=nx.path_graph(3), source=0, target=2)
    with pytest.raises(ValueError, match=r"networkx\.shortest_path: edge lengths must be "
                                         r"non-negative, but theta\[0\] = -1 \(edge \(0, 1\)\)"):
        solver.solve(np.array([-1.0, 1.0]))
    with pytest.raises(ValueError, match=r"networkx\.shortest_path: theta has shape \(3,\), but "
                                         r"the graph has 2 edges"):
        solver.solve(np.ones(3))


@pytest.mark.parametrize("options, message", [
    ({"source": 0, "target": 0}, r"source and target are the same node \(0\)"),
    ({"source": 5, "target": 0}, r"source=5 is not a node of the graph"),
])
def test_bad_options(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=r"networkx\.shortest_path: " + message):
        ShortestPathSolver(graph=nx.path_graph(3), **options)
