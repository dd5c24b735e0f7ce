"""scipy.grid_shortest_path: brute force over simple paths and networkx's Dijkstra, ties
and zero costs, solve_batch against solve, clipping negative costs, the perturbed mean,
torch gradients and error messages."""

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
    solver = GridShortestPathSolver(grid=(3, 3))
    paths = list(nx.all_simple_paths(king_graph(np.ones((3, 3))), (0, 0), (2, 2)))
    for _ in range(5):
        theta = rng.uniform(0, 5, size=(3, 3))
        best = min(paths, key=lambda p: sum(theta[c] for c in p))
        np.testing.assert_array_equal(solver.solve(theta), indicator(best, (3, 3)))


@pytest.mark.parametrize("shape", [(6, 7), (1, 5), (12, 12)])
def test_matches_networkx_dijkstra(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    solver = perturbopt.get_solver(NAME, grid=shape)
    for _ in range(3):
        theta = rng.uniform(0, 5, size=shape)
        path = nx.dijkstra_path(king_graph(theta), (0, 0), (shape[0] - 1, shape[1] - 1))
        y = solver.solve(theta)
        assert y.dtype == np.int8
        np.testing.assert_array_equal(y, indicator(path, shape))


def test_zero_costs_are_edges_not_gaps() -> None:
    theta = np.array([[0.0, 5.0, 5.0], [5.0, 0.0, 5.0], [5.0, 5.0, 0.0]])
    np.testing.assert_array_equal(
        GridShortestPathSolver(grid=(3, 3)).solve(theta), np.eye(3, dtype=np.int8)
    )


@pytest.mark.parametrize(
    "noise",
    [{"perturbation": "multiplicative"}, {"solver_options": {"negative_costs": "clip"}}],
    ids=["multiplicative", "additive-clip"],
)
def test_perturbed_mean_and_convergence(noise: dict) -> None:
    rng = np.random.default_rng(2)
    theta = rng.uniform(0.5, 5, size=(5, 6))
    options = {"grid": (5, 6), **noise.get("solver_options", {})}
    kwargs = {
        "solver_options": options,
        "seed": 0,
        "perturbation": noise.get("perturbation", "additive"),
    }
    hard = GridShortestPathSolver(**options).solve(theta)
    wide = perturbopt.perturbed(NAME, epsilon=1.0, num_samples=200, **kwargs).solve(theta)
    assert wide.mean[0, 0] == 1.0 and wide.mean[-1, -1] == 1.0
    assert np.all((wide.mean >= 0) & (wide.mean <= 1))
    # every path visits at least max(H, W) cells, one per column
    assert np.all(wide.samples.reshape(200, -1).sum(axis=1) >= 6)
    assert np.all(wide.samples.max(axis=1).sum(axis=-1) == 6)
    assert np.abs(wide.mean - hard).max() > 0.1
    narrow = perturbopt.perturbed(NAME, epsilon=1e-4, num_samples=20, **kwargs).solve(theta)
    np.testing.assert_array_equal(narrow.mean, hard)


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(3)
    theta, g = rng.uniform(0.5, 3, size=(4, 4)), rng.normal(size=(4, 4))
    kwargs = {
        "epsilon": 0.5,
        "num_samples": 50,
        "seed": 0,
        "perturbation": "multiplicative",
        "solver_options": {"grid": (4, 4)},
    }
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
    with pytest.raises(
        ValueError,
        match=r"solver 'scipy\.grid_shortest_path': cell costs must be "
        r"non-negative, but theta\[1, 2\] = -0\.5.*"
        r"negative_costs='clip'",
    ):
        GridShortestPathSolver(grid=(3, 4), negative_costs="error").solve(theta)
    po = perturbopt.perturbed(
        NAME,
        solver_options={"grid": (3, 4), "negative_costs": "error"},
        epsilon=5.0,
        num_samples=4,
        seed=0,
    )
    with pytest.raises(perturbopt.SolverError, match=r"sample 0.*non-negative"):
        po.solve(np.full((3, 4), 0.1))


def test_wrong_theta_shape_and_bad_options() -> None:
    po = perturbopt.perturbed(NAME, solver_options={"grid": (3, 4)}, num_samples=2, seed=0)
    with pytest.raises(
        ValueError,
        match=r"'scipy\.grid_shortest_path' takes instances of "
        r"shape \(3, 4\)",
    ):
        po.solve(np.ones((4, 3)))
    with pytest.raises(
        ValueError, match=r"solver 'scipy\.grid_shortest_path': grid must be a pair"
    ):
        GridShortestPathSolver(grid=(3, -1))
    with pytest.raises(
        ValueError, match=r"negative_costs must be 'clip' or 'error' or 'allow', got 'zero'"
    ):
        GridShortestPathSolver(grid=(3, 3), negative_costs="zero")
    with pytest.raises(ValueError, match=r"negative_costs='allow' hands negative costs"):
        GridShortestPathSolver(grid=(3, 3), negative_costs="allow")
    with pytest.raises(
        TypeError,
        match=r"solver 'scipy\.grid_shortest_path' has no option 'shape'\. Its options: "
        r"grid \(required\), negative_costs='clip'",
    ):
        perturbopt.get_solver(NAME, shape=(3, 3))


# -- ties, zero costs and solve_batch ------------------------------------------------------


def path_cells_connect_the_corners(y: np.ndarray) -> bool:
    """Whether the cells marked by ``y`` hold an 8-connected chain between the corners."""
    rows, cols = y.shape
    cells = [tuple(c) for c in np.argwhere(y == 1)]
    graph = king_graph(np.ones((rows, cols))).subgraph(cells)
    return (0, 0) in graph and nx.has_path(graph, (0, 0), (rows - 1, cols - 1))


@pytest.mark.parametrize("kind", ["ties", "zeros", "continuous"])
def test_solve_batch_paths_are_optimal_against_networkx(kind: str) -> None:
    """Path costs equal networkx's optimum, also where many paths tie (five cost values,
    as on Warcraft maps) or cost 0; each row answers as ``solve`` does alone."""
    rng = np.random.default_rng({"ties": 4, "zeros": 5, "continuous": 6}[kind])
    shape = (7, 9)
    if kind == "ties":
        thetas = rng.choice([0.8, 1.2, 5.3, 7.7, 9.2], size=(30, *shape))
    elif kind == "zeros":
        thetas = rng.choice([0.0, 0.0, 1.0, 3.0], size=(30, *shape))
    else:
        thetas = rng.uniform(0, 5, size=(30, *shape))
    solver = GridShortestPathSolver(grid=shape)
    ys = solver.solve_batch(thetas)
    assert ys.shape == thetas.shape and ys.dtype == np.int8
    for theta, y in zip(thetas, ys, strict=True):
        graph = king_graph(theta)
        optimum = theta[0, 0] + nx.dijkstra_path_length(graph, (0, 0), (6, 8))
        assert np.sum(y * theta) == pytest.approx(optimum, rel=1e-12, abs=1e-12)
        assert path_cells_connect_the_corners(y)
        np.testing.assert_array_equal(solver.solve(theta), y)
    # a row's path does not depend on the rows around it, nor on the call
    np.testing.assert_array_equal(solver.solve_batch(thetas[::-1]), ys[::-1])
    np.testing.assert_array_equal(solver.solve_batch(thetas[5:6])[0], ys[5])


def test_all_zero_costs_give_one_path() -> None:
    y = GridShortestPathSolver(grid=(4, 6)).solve(np.zeros((4, 6)))
    assert path_cells_connect_the_corners(y)
    assert y.sum() == 6  # a cheapest path of zero cost and no detour


def test_clip_solves_the_clipped_costs() -> None:
    rng = np.random.default_rng(7)
    thetas = rng.normal(1.0, 2.0, size=(20, 5, 5))
    clip = GridShortestPathSolver(grid=(5, 5))
    plain = GridShortestPathSolver(grid=(5, 5), negative_costs="error")
    np.testing.assert_array_equal(
        clip.solve_batch(thetas), plain.solve_batch(np.maximum(thetas, 0.0))
    )
    for theta in thetas[:5]:
        y = clip.solve(theta)
        optimum = max(theta[0, 0], 0.0) + nx.dijkstra_path_length(
            king_graph(np.maximum(theta, 0.0)), (0, 0), (4, 4)
        )
        assert np.sum(y * np.maximum(theta, 0.0)) == pytest.approx(optimum)
    assert (thetas < 0).any()
    with pytest.raises(ValueError, match=r"theta\[0, 0, 1\] = -.*negative_costs='clip'"):
        plain.solve_batch(np.where(np.arange(5) == 1, -1.0, 1.0) * np.ones((2, 5, 5)))


def test_additive_noise_with_clip_runs_where_error_refuses() -> None:
    """Additive noise of scale 1 on costs near 0.1: many perturbed costs are negative.
    ``"clip"`` is the default."""
    theta = np.full((4, 4), 0.1)
    po = perturbopt.perturbed(
        NAME,
        solver_options={"grid": (4, 4)},
        epsilon=1.0,
        num_samples=50,
        seed=0,
    )
    result = po.solve(theta)
    assert result.mean[0, 0] == 1.0 and result.mean[-1, -1] == 1.0
    assert np.all((result.mean >= 0) & (result.mean <= 1))
    refusing = perturbopt.perturbed(
        NAME,
        solver_options={"grid": (4, 4), "negative_costs": "error"},
        epsilon=1.0,
        num_samples=50,
        seed=0,
    )
    with pytest.raises(perturbopt.SolverError, match="negative_costs='clip'"):
        refusing.solve(theta)
