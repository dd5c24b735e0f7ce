"""networkx.spanning_tree: brute force over all spanning trees, the spanning-tree polytope,
parallel workers, torch gradients and error messages."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from perturbopt_networkx import SpanningTreeSolver

import perturbopt

NAME = "networkx.spanning_tree"


def small_graph(seed: int = 0) -> nx.Graph:
    graph = nx.gnm_random_graph(6, 10, seed=seed)
    assert nx.is_connected(graph)
    return graph


def all_spanning_trees(graph: nx.Graph) -> np.ndarray:
    """Indicators of every (n - 1)-edge subset that connects all nodes."""
    edges, n = list(graph.edges), graph.number_of_nodes()
    trees = []
    for subset in itertools.combinations(range(len(edges)), n - 1):
        candidate = nx.Graph([edges[k] for k in subset])
        candidate.add_nodes_from(graph)
        if nx.is_connected(candidate):
            y = np.zeros(len(edges), dtype=np.int8)
            y[list(subset)] = 1
            trees.append(y)
    return np.array(trees)


@pytest.mark.parametrize("sense", ["min", "max"])
def test_matches_brute_force(sense: str) -> None:
    rng = np.random.default_rng(0)
    graph = small_graph()
    trees = all_spanning_trees(graph)
    solver = perturbopt.get_solver(NAME, edges=list(graph.edges), sense=sense)
    assert solver.sense == sense
    assert solver.edges == list(graph.edges)
    for _ in range(5):
        theta = rng.normal(size=len(solver.edges))
        values = trees @ theta
        expected = trees[np.argmin(values) if sense == "min" else np.argmax(values)]
        np.testing.assert_array_equal(solver.solve(theta), expected)


def test_perturbed_mean_is_in_the_spanning_tree_polytope() -> None:
    rng = np.random.default_rng(1)
    graph = small_graph()
    theta = rng.normal(size=graph.number_of_edges())
    options = {"edges": list(graph.edges)}
    hard = SpanningTreeSolver(**options).solve(theta)
    mean = perturbopt.perturbed(NAME, solver_options=options, epsilon=1.0, num_samples=200, seed=0)(
        theta
    )
    np.testing.assert_allclose(mean.sum(), graph.number_of_nodes() - 1)
    edges = list(graph.edges)
    for size in range(2, graph.number_of_nodes()):
        for nodes in itertools.combinations(graph.nodes, size):
            inside = [k for k, (u, v) in enumerate(edges) if u in nodes and v in nodes]
            assert mean[inside].sum() <= size - 1 + 1e-12  # no cycle inside any node set
    assert np.abs(mean - hard).max() > 0.1
    narrow = perturbopt.perturbed(
        NAME, solver_options=options, epsilon=1e-5, num_samples=20, seed=0
    )(theta)
    np.testing.assert_array_equal(narrow, hard)


def test_disconnected_graph_gives_a_spanning_forest() -> None:
    graph = nx.disjoint_union(nx.cycle_graph(3), nx.path_graph(3))
    y = SpanningTreeSolver(edges=list(graph.edges)).solve(np.arange(5.0))
    assert y.sum() == 6 - 2


def test_parallel_workers_give_the_same_samples() -> None:
    rng = np.random.default_rng(2)
    graph = nx.gnm_random_graph(30, 80, seed=2)
    theta = rng.normal(size=80)
    kwargs = {
        "solver_options": {"edges": list(graph.edges)},
        "epsilon": 0.5,
        "num_samples": 300,
        "seed": 0,
    }
    serial = perturbopt.perturbed(NAME, n_jobs=1, **kwargs).solve(theta)
    parallel = perturbopt.perturbed(NAME, n_jobs=2, **kwargs).solve(theta)
    np.testing.assert_array_equal(parallel.samples, serial.samples)


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(3)
    graph = small_graph()
    theta, g = rng.normal(size=10), rng.normal(size=10)
    kwargs = {
        "epsilon": 0.5,
        "num_samples": 100,
        "seed": 0,
        "solver_options": {"edges": list(graph.edges)},
    }
    theta_t = torch.tensor(theta, requires_grad=True)
    y = tp.PerturbedOptimizer(NAME, **kwargs)(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(y.detach().numpy(), expected.mean)
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_wrong_theta_shape() -> None:
    po = perturbopt.perturbed(
        NAME, solver_options={"edges": list(small_graph().edges)}, num_samples=2, seed=0
    )
    with pytest.raises(
        ValueError,
        match=r"'networkx\.spanning_tree' takes instances of "
        r"shape \(10,\)",
    ):
        po.solve(np.ones(9))
    with pytest.raises(
        ValueError,
        match=r"solver 'networkx\.spanning_tree': theta has shape "
        r"\(9,\), but this solver takes instances of shape "
        r"\(10,\)",
    ):
        SpanningTreeSolver(edges=list(small_graph().edges)).solve(np.ones(9))


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"edges": []}, ValueError, r"the graph has no edges"),
        ({"edges": [(0, 1, 2)]}, ValueError, r"edges\[0\] = \(0, 1, 2\) has 3 entries"),
        ({"edges": 5}, TypeError, r"edges must be a sequence of \(u, v\) pairs"),
        ({"edges": [(0, [1])]}, TypeError, r"has an unhashable node"),
        ({"edges": [(0, 3)], "num_nodes": 3}, ValueError, r"names a node >= num_nodes=3"),
        ({"edges": [(0, 1)], "sense": "minimum"}, ValueError, r"sense must be 'max' or 'min'"),
    ],
)
def test_bad_options(options: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=r"^solver 'networkx\.spanning_tree': .*" + message):
        SpanningTreeSolver(**options)


def test_num_nodes_counts_isolated_nodes_as_components() -> None:
    y = SpanningTreeSolver(edges=[(0, 1), (1, 2), (0, 2)], num_nodes=5).solve(np.ones(3))
    assert y.sum() == 2


def test_required_edges_and_the_spellings_removed_in_0_3() -> None:
    listed = r"Its options: edges \(required\), num_nodes=None, sense='min'"
    with pytest.raises(TypeError, match=r"needs option 'edges'.*" + listed):
        perturbopt.get_solver("networkx.spanning_tree")
    for removed in ({"graph": small_graph()}, {"minimum": False}):
        with pytest.raises(TypeError, match=r"has no option .*" + listed):
            perturbopt.get_solver("networkx.spanning_tree", edges=[(0, 1)], **removed)
