"""scipy.grid_shortest_path: brute force over simple paths and networkx's Dijkstra, the
perturbed mean, torch gradients and error messages."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from perturbopt_scipy import GridShortestPathSolver

import perturbopt

NAME = "scipy.grid_shortest_path"


def king_graph(theta: np.ndarray) -> nx.DiGraph:
    """The 8-neighbour grid with arc weights w(u -> v) = theta[v], built independently."""
    rows, cols = theta.shape
    graph = nx.DiGraph()
    for i, j, di, dj in itertools.product(range(rows), range(cols), (-1, 0, 1), (-1, 0, 1)):
        if (di or dj) and 0 <= i + di < rows and 0 <= j + dj < cols:
            graph.add_edge((i, j), (i + di, j + dj), weight=theta[i + di, j + dj])
    return graph


def indicator(path: list[tuple[int, int]], shape: tuple[int, int]) -> np.ndarray:
    y = np.zeros(shape, dtype=np.int8)
    for cell in path:
        y[cell] = 1
    return y


def test_matches_brute_force_on_a_3x3_grid() -> None:
    rng = np.random.default_rng(0)
    solver = GridShortestPathSolver(shape=(3, 3))
    paths = list(nx.all_simple_paths(king_graph(np.ones((3, 3))), (0, 0), (2, 2)))
    for _ in range(5):
        theta = rng.uniform(0, 5, size=(3, 3))
        best = min(paths, key=lambda p: sum(theta[c] for c in p))
        np.testing.assert_array_equal(solver.solve(theta), indicator(best, (3, 3)))


@pytest.mark.parametrize("shape", [(6, 7), (1, 5), (12, 12)])
def test_matches_networkx_dijkstra(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    solver = perturbopt.get_solver(NAME, shape=shape)
    for _ in range(3):
        theta = rng.uniform(0, 5, size=shape)
        path = nx.dijkstra_path(king_graph(theta), (0, 0), (shape[0] - 1, shape[1] - 1))
        y = solver.solve(theta)
        assert y.dtype == np.int8
        np.testing.assert_array_equal(y, indicator(path, shape))


def test_zero_costs_are_edges_not_gaps() -> None:
    theta = np.array([[0.0, 5.0, 5.0], [5.0, 0.0, 5.0], [5.0, 5.0, 0.0]])
    np.testing.assert_array_equal(GridShortestPathSolver(shape=(3, 3)).solve(theta),
                                  np.eye(3, dtype=np.int8))


def test_perturbed_mean_and_convergence() -> None:
    rng = np.random.default_rng(2)
    theta = rng.uniform(0.5, 5, size=(5, 6))
    options = {"shape": (5, 6)}
    hard = GridShortestPathSolver(**options).solve(theta)
    wide = perturbopt.perturbed(NAME, solver_options=options, epsilon=1.0, num_samples=200,
                                perturbation="multiplicative", seed=0).solve(theta)
    assert wide.mean[0, 0] == 1.0 and wide.mean[-1, -1] == 1.0
    assert np.all((wide.mean >= 0) & (wide.mean <= 1))
    # every path visits at least max(H, W) cells, one per column
    assert np.all(wide.samples.reshape(200, -1).sum(axis=1) >= 6)
    assert np.all(wide.samples.max(axis=1).sum(axis=-1) == 6)
    assert np.abs(wide.mean - hard).max() > 0.1
    narrow = perturbopt.perturbed(NAME, solver_options=options, epsilon=1e-4, num_samples=20,
                                  perturbation="multiplicative", seed=0).solve(theta)
    np.testing.assert_array_equal(narrow.mean, hard)


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(3)
    theta, g = rng.uniform(0.5, 3, size=(4, 4)), rng.normal(size=(4, 4))
    kwargs = dict(epsilon=0.5, num_samples=50, seed=0, perturbation="multiplicative",
                  solver_options={"shape": (4, 4)})
    theta_t = torch.tensor(theta, requires_grad=True)
    y = tp.PerturbedOptimizer(NAME, **kwargs)(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_negative_costs_name_the_first_negative_cell() -> None:
    theta = np.ones((3, 4))
    theta[1, 2] = -0.5
    theta[2, 0] = -1.0
    with pytest.raises(ValueError, match=r"scipy\.grid_shortest_path: cell costs must be "
                                         r"non-negative, but theta\[1, 2\] = -0\.5.*multiplicative"):
        GridShortestPathSolver(shape=(3, 4)).solve(theta)
    po = perturbopt.perturbed(NAME, solver_options={"shape": (3, 4)}, epsilon=5.0,
                              num_samples=4, seed=0)
    with pytest.raises(perturbopt.SolverError, match=r"sample 0.*non-negative"):
        po.solve(np.full((3, 4), 0.1))


def test_wrong_theta_shape_and_bad_options() -> None:
    po = perturbopt.perturbed(NAME, solver_options={"shape": (3, 4)}, num_samples=2, seed=0)
    with pytest.raises(ValueError, match=r"'scipy\.grid_shortest_path' takes instances of "
                                         r"shape \(3, 4\)"):
        po.solve(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"scipy\.grid_shortest_path: shape must be a pair"):
        GridShortestPathSolver(shape=(3, -1))
