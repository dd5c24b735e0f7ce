"""networkx.matching: brute force over all matchings, the degree constraints of the
matching polytope, torch gradients and error messages."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from perturbopt_networkx import MatchingSolver

import perturbopt

NAME = "networkx.matching"


def small_graph() -> nx.Graph:
    return nx.gnm_random_graph(7, 11, seed=5)


def all_matchings(graph: nx.Graph) -> np.ndarray:
    edges = list(graph.edges)
    matchings = []
    for mask in itertools.product((0, 1), repeat=len(edges)):
        nodes = [x for k, e in enumerate(edges) if mask[k] for x in e]
        if len(nodes) == len(set(nodes)):
            matchings.append(mask)
    return np.array(matchings, dtype=np.int8)


@pytest.mark.parametrize("maxcardinality", [False, True])
def test_matches_brute_force(maxcardinality: bool) -> None:
    rng = np.random.default_rng(0)
    graph = small_graph()
    matchings = all_matchings(graph)
    if maxcardinality:
        sizes = matchings.sum(axis=1)
        matchings = matchings[sizes == sizes.max()]
    solver = perturbopt.get_solver(NAME, edges=list(graph.edges), maxcardinality=maxcardinality)
    for _ in range(5):
        theta = rng.normal(size=len(solver.edges))
        np.testing.assert_array_equal(solver.solve(theta), matchings[np.argmax(matchings @ theta)])


def test_perturbed_mean_satisfies_the_degree_constraints() -> None:
    rng = np.random.default_rng(1)
    graph = small_graph()
    options = {"edges": list(graph.edges)}
    theta = rng.normal(size=graph.number_of_edges())
    hard = MatchingSolver(**options).solve(theta)
    mean = perturbopt.perturbed(NAME, solver_options=options, epsilon=1.0, num_samples=100, seed=0)(
        theta
    )
    degree = nx.incidence_matrix(graph).toarray() @ mean
    assert np.all(degree <= 1 + 1e-12) and np.all(mean >= 0)
    assert np.abs(mean - hard).max() > 0.1
    narrow = perturbopt.perturbed(
        NAME, solver_options=options, epsilon=1e-5, num_samples=10, seed=0
    )(theta)
    np.testing.assert_array_equal(narrow, hard)


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(2)
    graph = small_graph()
    theta, g = rng.normal(size=11), rng.normal(size=11)
    kwargs = {
        "epsilon": 0.5,
        "num_samples": 40,
        "seed": 0,
        "solver_options": {"edges": list(graph.edges)},
    }
    theta_t = torch.tensor(theta, requires_grad=True)
    y = tp.PerturbedOptimizer(NAME, **kwargs)(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_wrong_theta_shape() -> None:
    po = perturbopt.perturbed(
        NAME, solver_options={"edges": list(small_graph().edges)}, num_samples=2, seed=0
    )
    with pytest.raises(ValueError, match=r"'networkx\.matching' takes instances of shape \(11,\)"):
        po.solve(np.ones((2, 10)))
    with pytest.raises(
        ValueError,
        match=r"solver 'networkx\.matching': theta has shape \(10,\), "
        r"but this solver takes instances of shape \(11,\) "
        r"\(one entry per edge, in the order of edges\)",
    ):
        MatchingSolver(edges=list(small_graph().edges)).solve(np.ones(10))


@pytest.mark.parametrize(
    "options, error, message",
    [
        (
            {"edges": [(0, 1), (1, 0)]},
            ValueError,
            r"edges\[0\] and edges\[1\] are the same edge \(1, 0\) \(undirected\)",
        ),
        (
            {"edges": [(0, 1)], "maxcardinality": 1},
            TypeError,
            r"maxcardinality must be True or False",
        ),
        (
            {"edges": [(0, 1)], "directed": True},
            TypeError,
            r"unexpected keyword argument 'directed'",
        ),
    ],
)
def test_bad_options(options: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        MatchingSolver(**options)


def test_graph_removed_in_0_3_names_the_options() -> None:
    with pytest.raises(
        TypeError,
        match=r"solver 'networkx\.matching' has no option 'graph'\. Its options: "
        r"edges \(required\), num_nodes=None, maxcardinality=False",
    ):
        perturbopt.get_solver("networkx.matching", graph=small_graph())
