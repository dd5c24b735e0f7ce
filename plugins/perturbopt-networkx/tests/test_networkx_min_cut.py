"""networkx.min_cut: brute force over all s-t cuts, the cut polytope's path constraints,
torch gradients and error messages."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from perturbopt_networkx import MinCutSolver

import perturbopt

NAME = "networkx.min_cut"


def directed_graph() -> nx.DiGraph:
    graph = nx.gnp_random_graph(6, 0.5, seed=4, directed=True)
    assert nx.has_path(graph, 0, 5)
    return graph


def all_cuts(graph: nx.Graph, s: int, t: int) -> np.ndarray:
    """Cut-edge indicators of every node set S with s in S and t not in S."""
    others = [v for v in graph if v not in (s, t)]
    cuts = []
    for size in range(len(others) + 1):
        for chosen in itertools.combinations(others, size):
            side = {s, *chosen}
            if graph.is_directed():
                crossing = [u in side and v not in side for u, v in graph.edges]
            else:
                crossing = [(u in side) != (v in side) for u, v in graph.edges]
            cuts.append(np.array(crossing, dtype=np.int8))
    return np.array(cuts)


@pytest.mark.parametrize("graph", [directed_graph(), nx.petersen_graph()],
                         ids=["directed", "undirected"])
def test_matches_brute_force(graph: nx.Graph) -> None:
    rng = np.random.default_rng(0)
    s, t = 0, 5
    cuts = all_cuts(graph, s, t)
    solver = perturbopt.get_solver(NAME, graph=graph, s=s, t=t)
    for _ in range(5):
        theta = rng.uniform(0.1, 2.0, size=len(solver.edges))
        np.testing.assert_array_equal(solver.solve(theta), cuts[np.argmin(cuts @ theta)])


def test_perturbed_mean_meets_every_path_and_converges() -> None:
    """Every s-t path crosses every cut, so the mean puts mass >= 1 on each path."""
    rng = np.random.default_rng(1)
    graph = directed_graph()
    options = {"graph": graph, "s": 0, "t": 5}
    theta = rng.uniform(0.5, 2.0, size=graph.number_of_edges())
    hard = MinCutSolver(**options).solve(theta)
    mean = perturbopt.perturbed(NAME, solver_options=options, epsilon=1.0, num_samples=200,
                                perturbation="multiplicative", seed=0)(theta)
    index = {edge: k for k, edge in enumerate(graph.edges)}
    for path in nx.all_simple_paths(graph, 0, 5):
        assert sum(mean[index[e]] for e in zip(path[:-1], path[1:])) >= 1 - 1e-12
    assert np.all((mean >= 0) & (mean <= 1))
    assert np.abs(mean - hard).max() > 0.1
    narrow = perturbopt.perturbed(NAME, solver_options=options, epsilon=1e-5, num_samples=20,
                                  perturbation="multiplicative", seed=0)(theta)
    np.testing.assert_array_equal(narrow, hard)


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(2)
    graph = nx.petersen_graph()
    theta, g = rng.uniform(0.5, 2.0, size=15), rng.normal(size=15)
    kwargs = dict(epsilon=0.5, num_samples=50, seed=0, perturbation="multiplicative",
                  solver_options={"graph": graph, "s": 0, "t": 7})
    theta_t = torch.tensor(theta, requires_grad=True)
    y = tp.PerturbedOptimizer(NAME, **kwargs)(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_negative_capacities_are_a_clear_error() -> None:
    solver = MinCutSolver(graph=nx.path_graph(4), s=0, t=3)
    with pytest.raises(ValueError, match=r"networkx\.min_cut: capacities must be non-negative, "
                                         r"but theta\[1\] = -2 \(edge \(1, 2\)\).*multiplicative"):
        solver.solve(np.array([1.0, -2.0, -3.0]))
    po = perturbopt.perturbed(NAME, solver_options={"graph": nx.path_graph(4), "s": 0, "t": 3},
                              epsilon=5.0, num_samples=4, seed=0)
    with pytest.raises(perturbopt.SolverError, match=r"sample \d.*capacities must be non-negative"):
        po.solve(np.full(3, 0.1))


def test_wrong_theta_shape() -> None:
    with pytest.raises(ValueError, match=r"networkx\.min_cut: theta has shape \(4,\), but the "
                                         r"graph has 3 edges"):
        MinCutSolver(graph=nx.path_graph(4), s=0, t=3).solve(np.ones(4))


@pytest.mark.parametrize("options, message", [
    ({"s": 0, "t": 0}, r"s and t are the same node \(0\)"),
    ({"s": 0, "t": 9}, r"t=9 is not a node of the graph"),
    ({"s": [0], "t": 1}, r"s=\[0\] is not a node of the graph"),
])
def test_bad_options(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=r"networkx\.min_cut: " + message):
        MinCutSolver(graph=nx.path_graph(4), **options)
