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


def edges_of(graph: nx.Graph) -> dict:
    """The options that describe ``graph``: its edges and whether they are directed."""
    return {"edges": list(graph.edges), "directed": graph.is_directed()}


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


@pytest.mark.parametrize(
    "graph", [directed_graph(), nx.petersen_graph()], ids=["directed", "undirected"]
)
def test_matches_brute_force(graph: nx.Graph) -> None:
    rng = np.random.default_rng(0)
    s, t = 0, 5
    cuts = all_cuts(graph, s, t)
    solver = perturbopt.get_solver(NAME, **edges_of(graph), source=s, target=t)
    for _ in range(5):
        theta = rng.uniform(0.1, 2.0, size=len(solver.edges))
        np.testing.assert_array_equal(solver.solve(theta), cuts[np.argmin(cuts @ theta)])


def test_perturbed_mean_meets_every_path_and_converges() -> None:
    """Every s-t path crosses every cut, so the mean puts mass >= 1 on each path."""
    rng = np.random.default_rng(1)
    graph = directed_graph()
    options = {**edges_of(graph), "source": 0, "target": 5}
    theta = rng.uniform(0.5, 2.0, size=graph.number_of_edges())
    hard = MinCutSolver(**options).solve(theta)
    mean = perturbopt.perturbed(
        NAME,
        solver_options=options,
        epsilon=1.0,
        num_samples=200,
        perturbation="multiplicative",
        seed=0,
    )(theta)
    index = {edge: k for k, edge in enumerate(graph.edges)}
    for path in nx.all_simple_paths(graph, 0, 5):
        assert sum(mean[index[e]] for e in itertools.pairwise(path)) >= 1 - 1e-12
    assert np.all((mean >= 0) & (mean <= 1))
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


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(2)
    graph = nx.petersen_graph()
    theta, g = rng.uniform(0.5, 2.0, size=15), rng.normal(size=15)
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


PATH = {"edges": [(0, 1), (1, 2), (2, 3)], "source": 0, "target": 3}


def test_negative_capacities_are_a_clear_error_with_error() -> None:
    solver = MinCutSolver(**PATH, negative_costs="error")
    with pytest.raises(
        ValueError,
        match=r"solver 'networkx\.min_cut': capacities must be "
        r"non-negative, but theta\[1\] = -2 \(edge \(1, 2\)\); "
        r"pass negative_costs='clip'",
    ):
        solver.solve(np.array([1.0, -2.0, -3.0]))
    po = perturbopt.perturbed(
        NAME,
        solver_options={**PATH, "negative_costs": "error"},
        epsilon=5.0,
        num_samples=4,
        seed=0,
    )
    with pytest.raises(perturbopt.SolverError, match=r"sample \d.*capacities must be non-negative"):
        po.solve(np.full(3, 0.1))


def test_clip_counts_negative_capacities_as_zero() -> None:
    rng = np.random.default_rng(5)
    graph = directed_graph()
    cuts = all_cuts(graph, 0, 5)
    solver = MinCutSolver(**edges_of(graph), source=0, target=5)  # "clip" is the default
    for _ in range(5):
        theta = rng.normal(size=len(solver.edges))
        value = cuts @ np.maximum(theta, 0)
        y = solver.solve(theta)
        assert np.maximum(theta, 0) @ y == pytest.approx(value.min())
    mean = perturbopt.perturbed(
        NAME, solver_options={**PATH, "negative_costs": "clip"}, epsilon=5.0, num_samples=50, seed=0
    )(np.full(3, 0.1))
    assert mean.sum() == pytest.approx(1.0)  # a path has exactly one edge in any min cut


def test_additive_noise_with_clip_learns_positive_capacities() -> None:
    """Fenchel-Young steps on positive capacities with additive noise and clipping move
    theta to make the target cut the minimum one, and do not shrink theta to 0."""
    graph = directed_graph()
    options = {**edges_of(graph), "source": 0, "target": 5, "negative_costs": "clip"}
    truth = np.random.default_rng(6).uniform(0.5, 2.0, size=graph.number_of_edges())
    target = MinCutSolver(**options).solve(truth)
    po = perturbopt.perturbed(NAME, solver_options=options, epsilon=0.3, num_samples=20, seed=0)
    theta = np.ones_like(truth)
    for _ in range(60):  # the gradient of the min-sense loss is y - y_eps(theta)
        theta -= 0.2 * (target - po(theta))
    assert np.array_equal(MinCutSolver(**options).solve(theta), target)
    assert np.abs(theta).sum() > 0.5 * len(theta)


def test_wrong_theta_shape() -> None:
    with pytest.raises(
        ValueError,
        match=r"solver 'networkx\.min_cut': theta has shape \(4,\), "
        r"but this solver takes instances of shape \(3,\)",
    ):
        MinCutSolver(**PATH).solve(np.ones(4))


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"source": 0, "target": 0}, ValueError, r"source and target are the same node \(0\)"),
        ({"source": 0, "target": 9}, ValueError, r"target=9 is not a node of the graph"),
        ({"source": [0], "target": 1}, TypeError, r"source must be a node of the graph"),
        (
            {"source": 0, "target": 3, "directed": "yes"},
            TypeError,
            r"directed must be True or False",
        ),
        (
            {"source": 0, "target": 3, "negative_costs": "ignore"},
            ValueError,
            r"negative_costs must be 'clip' or 'error' or 'allow'",
        ),
    ],
)
def test_bad_options(options: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=r"^solver 'networkx\.min_cut': " + message):
        MinCutSolver(edges=[(0, 1), (1, 2), (2, 3)], **options)


def test_required_options_and_the_spellings_removed_in_0_3() -> None:
    with pytest.raises(TypeError, match=r"solver 'networkx\.min_cut' needs option 'source'"):
        perturbopt.get_solver(NAME, edges=[(0, 1)], target=1)
    with pytest.raises(ValueError, match=r"negative_costs='allow' hands negative costs"):
        MinCutSolver(**PATH, negative_costs="allow")
    for removed in ({"graph": nx.path_graph(3)}, {"s": 0}, {"t": 2}):
        with pytest.raises(
            TypeError,
            match=rf"solver 'networkx\.min_cut' has no option '{next(iter(removed))}'.*"
            r"Its options: edges \(required\), source \(required\), target \(required\), "
            r"num_nodes=None, directed=True, negative_costs='clip'",
        ):
            perturbopt.get_solver(NAME, **PATH, **removed)
