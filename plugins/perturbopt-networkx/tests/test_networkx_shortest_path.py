"""networkx.shortest_path: brute force over all simple paths, flow conservation, torch
gradients and error messages."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from perturbopt_networkx import ShortestPathSolver

import perturbopt

NAME = "networkx.shortest_path"


def edges_of(graph: nx.Graph) -> dict:
    """The options that describe ``graph``: its edges and whether they are directed."""
    return {"edges": list(graph.edges), "directed": graph.is_directed()}


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
        y[[index[e] for e in itertools.pairwise(path)]] = 1
        paths.append(y)
    return np.array(paths)


@pytest.mark.parametrize(
    "graph, target",
    [(directed_graph(), 8), (nx.petersen_graph(), 7)],
    ids=["directed", "undirected"],
)
def test_matches_brute_force(graph: nx.Graph, target: int) -> None:
    rng = np.random.default_rng(0)
    paths = all_paths(graph, 0, target)
    solver = perturbopt.get_solver(NAME, **edges_of(graph), source=0, target=target)
    for _ in range(5):
        theta = rng.uniform(0, 2, size=len(solver.edges))
        np.testing.assert_array_equal(solver.solve(theta), paths[np.argmin(paths @ theta)])


def test_perturbed_mean_is_a_unit_flow_and_converges() -> None:
    rng = np.random.default_rng(1)
    graph = directed_graph()
    options = {**edges_of(graph), "source": 0, "target": 8}
    theta = rng.uniform(0.5, 2, size=graph.number_of_edges())
    hard = ShortestPathSolver(**options).solve(theta)
    mean = perturbopt.perturbed(
        NAME,
        solver_options=options,
        epsilon=1.0,
        num_samples=200,
        perturbation="multiplicative",
        seed=0,
    )(theta)
    incidence = nx.incidence_matrix(graph, oriented=True).toarray()  # -1 at the tail
    supply = np.zeros(graph.number_of_nodes())
    supply[0], supply[8] = -1, 1
    np.testing.assert_allclose(incidence @ mean, supply, atol=1e-12)
    assert np.abs(mean - hard).max() > 0.1
    narrow = perturbopt.perturbed(
        NAME,
        solver_options=options,
        epsilon=1e-5,
        num_samples=20,
        perturbation="multiplicative",
        seed=0,
    )(theta)
    np.testing.assert_array_equal(narrow, hard)


def test_undirected_edges_are_used_in_either_direction() -> None:
    solver = ShortestPathSolver(edges=[(1, 0), (2, 1), (2, 3)], directed=False, source=3, target=0)
    np.testing.assert_array_equal(solver.solve(np.ones(3)), [1, 1, 1])


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(2)
    graph = nx.petersen_graph()
    theta, g = rng.uniform(0.5, 2, size=15), rng.normal(size=15)
    kwargs = {
        "epsilon": 0.5,
        "num_samples": 50,
        "seed": 0,
        "perturbation": "multiplicative",
        "solver_options": {**edges_of(graph), "source": 0, "target": 7},
    }
    theta_t = torch.tensor(theta, requires_grad=True)
    y = tp.PerturbedOptimizer(NAME, **kwargs)(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_disconnected_source_and_target() -> None:
    edges = [("a", "b"), ("c", "b")]
    with pytest.raises(
        ValueError,
        match=r"solver 'networkx\.shortest_path': there is no path "
        r"from source='a' to target='c'",
    ):
        ShortestPathSolver(edges=edges, source="a", target="c")
    with pytest.raises(ValueError, match=r"no path from source='a' to target='c'"):
        perturbopt.perturbed(NAME, solver_options={"edges": edges, "source": "a", "target": "c"})


def test_negative_lengths_and_wrong_shape() -> None:
    solver = ShortestPathSolver(edges=[(0, 1), (1, 2)], source=0, target=2, negative_costs="error")
    with pytest.raises(
        ValueError,
        match=r"solver 'networkx\.shortest_path': edge lengths must "
        r"be non-negative, but theta\[0\] = -1 \(edge "
        r"\(0, 1\)\); pass negative_costs='clip'",
    ):
        solver.solve(np.array([-1.0, 1.0]))
    with pytest.raises(
        ValueError,
        match=r"solver 'networkx\.shortest_path': theta has shape "
        r"\(3,\), but this solver takes instances of shape "
        r"\(2,\)",
    ):
        solver.solve(np.ones(3))


def test_clip_counts_negative_lengths_as_zero() -> None:
    rng = np.random.default_rng(3)
    graph = directed_graph()
    paths = all_paths(graph, 0, 8)
    solver = ShortestPathSolver(**edges_of(graph), source=0, target=8, negative_costs="clip")
    for _ in range(5):
        theta = rng.normal(size=len(solver.edges))
        clipped = np.maximum(theta, 0)
        assert clipped @ solver.solve(theta) == pytest.approx((paths @ clipped).min())
    theta = rng.normal(size=len(solver.edges))
    before = theta.copy()
    theta.setflags(write=False)
    solver.solve(theta)
    np.testing.assert_array_equal(theta, before)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"source": 0, "target": 0}, ValueError, r"source and target are the same node \(0\)"),
        ({"source": 5, "target": 0}, ValueError, r"source=5 is not a node of the graph"),
        ({"source": 2, "target": 0}, ValueError, r"there is no path from source=2 to target=0"),
        (
            {"source": 0, "target": 2, "negative_costs": 0},
            TypeError,
            r"negative_costs must be 'clip' or 'error' or 'allow'",
        ),
    ],
)
def test_bad_options(options: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=r"^solver 'networkx\.shortest_path': " + message):
        ShortestPathSolver(edges=[(0, 1), (1, 2)], **options)


def test_graph_removed_in_0_3_names_the_options() -> None:
    with pytest.raises(
        TypeError,
        match=r"solver 'networkx\.shortest_path' has no option 'graph'\. Its options: "
        r"edges \(required\), source \(required\), target \(required\), num_nodes=None, "
        r"directed=True, negative_costs='clip'",
    ):
        perturbopt.get_solver(NAME, graph=nx.petersen_graph(), source=0, target=7)
