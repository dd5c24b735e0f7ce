"""scipy.grid_shortest_path_edges: PyEPO's arc order, the vectorised DP against Dijkstra
and brute force, the 2 x 2 closed form, flow conservation, torch and error messages."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse
from perturbopt_scipy import GridArcShortestPathSolver, grid_arcs
from scipy.sparse.csgraph import dijkstra

import perturbopt

NAME = "scipy.grid_shortest_path_edges"


def test_arc_order_is_pyepos() -> None:
    # row 0: right arcs, then down arcs; row 1: the same; row 2: right arcs only
    assert grid_arcs((3, 3)) == [
        (0, 1),
        (1, 2),
        (0, 3),
        (1, 4),
        (2, 5),
        (3, 4),
        (4, 5),
        (3, 6),
        (4, 7),
        (5, 8),
        (6, 7),
        (7, 8),
    ]
    solver = GridArcShortestPathSolver(grid=(5, 5))
    assert solver.shape == (40,) and len(set(solver.arcs)) == 40
    assert solver.arcs[:9] == [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
        (0, 5),
        (1, 6),
        (2, 7),
        (3, 8),
        (4, 9),
    ]
    assert solver.arcs[-4:] == [(20, 21), (21, 22), (22, 23), (23, 24)]


def dijkstra_paths(grid: tuple[int, int], costs: np.ndarray) -> np.ndarray:
    """Independent reference: scipy's Dijkstra on the arc list, one instance at a time."""
    arcs = np.array(grid_arcs(grid))
    size = grid[0] * grid[1]
    out = np.zeros(costs.shape, dtype=np.int8)
    for k, c in enumerate(costs):
        graph = scipy.sparse.csr_array((c, (arcs[:, 0], arcs[:, 1])), shape=(size, size))
        _, pred = dijkstra(graph, indices=0, return_predecessors=True)
        node = size - 1
        arc_index = {tuple(a): i for i, a in enumerate(arcs.tolist())}
        while node != 0:
            out[k, arc_index[(pred[node], node)]] = 1
            node = pred[node]
    return out


@pytest.mark.parametrize("grid", [(5, 5), (3, 7), (1, 4), (6, 1)])
def test_vectorised_dp_matches_dijkstra(grid: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    solver = perturbopt.get_solver(NAME, grid=grid)
    costs = rng.uniform(0, 1, size=(50, solver.shape[0]))
    y = solver.solve_batch(costs)
    assert y.dtype == np.int8
    np.testing.assert_array_equal(y, dijkstra_paths(grid, costs))
    np.testing.assert_array_equal(solver.solve(costs[3]), y[3])


def test_dp_matches_brute_force_with_negative_costs() -> None:
    """Enumerate every monotone path (choose where the h - 1 down moves go)."""
    rng = np.random.default_rng(1)
    h, w = 3, 4
    solver = GridArcShortestPathSolver(grid=(h, w))
    index = {arc: k for k, arc in enumerate(solver.arcs)}
    paths = []
    for downs in itertools.combinations(range(h + w - 2), h - 1):
        y, node = np.zeros(solver.shape, dtype=np.int8), 0
        for step in range(h + w - 2):
            nxt = node + (w if step in downs else 1)
            y[index[(node, nxt)]] = 1
            node = nxt
        paths.append(y)
    paths = np.array(paths)
    costs = rng.normal(size=(20, solver.shape[0]))
    expected = paths[np.argmin(costs @ paths.T, axis=1)]
    np.testing.assert_array_equal(solver.solve_batch(costs), expected)


def test_two_by_two_closed_form() -> None:
    """Right-then-down (arcs 0, 2) beats down-then-right (arcs 1, 3) with probability
    Phi((c1 + c3 - c0 - c2) / (2 eps)) under additive Gaussian noise."""
    theta = np.array([0.2, 0.4, 0.5, 0.1])
    eps = 0.5
    expected = 0.5 * (
        1 + math.erf((theta[1] + theta[3] - theta[0] - theta[2]) / (2 * eps) / math.sqrt(2))
    )
    result = perturbopt.perturbed(
        NAME, solver_options={"grid": (2, 2)}, epsilon=eps, num_samples=4000, seed=0
    ).solve(theta)
    assert abs(result.mean[0] - expected) <= 4 * result.stderr[0]
    np.testing.assert_allclose(result.mean[[0, 1]], result.mean[[2, 3]])


def test_perturbed_mean_is_a_unit_flow_and_converges() -> None:
    rng = np.random.default_rng(2)
    grid = (5, 5)
    solver = GridArcShortestPathSolver(grid=grid)
    theta = rng.uniform(0, 1, size=40)
    result = perturbopt.perturbed(
        NAME, solver_options={"grid": grid}, epsilon=0.5, num_samples=300, seed=0
    ).solve(theta)
    incidence = np.zeros((25, 40))
    for k, (u, v) in enumerate(solver.arcs):
        incidence[u, k], incidence[v, k] = 1, -1
    supply = np.zeros(25)
    supply[0], supply[-1] = 1, -1
    np.testing.assert_allclose(incidence @ result.mean, supply, atol=1e-12)
    assert np.abs(result.mean - solver.solve(theta)).max() > 0.1
    narrow = perturbopt.perturbed(
        NAME, solver_options={"grid": grid}, epsilon=1e-5, num_samples=20, seed=0
    ).solve(theta)
    np.testing.assert_array_equal(narrow.mean, solver.solve(theta))


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(3)
    theta, g = rng.uniform(0, 1, size=40), rng.normal(size=40)
    kwargs = {"epsilon": 0.5, "num_samples": 100, "seed": 0, "solver_options": {"grid": (5, 5)}}
    theta_t = torch.tensor(theta, requires_grad=True)
    y = tp.PerturbedOptimizer(NAME, **kwargs)(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_wrong_theta_shape_and_bad_options() -> None:
    with pytest.raises(
        ValueError,
        match=r"solver 'scipy\.grid_shortest_path_edges': theta has "
        r"shape \(25,\).*\(40,\) \(one cost per arc\)",
    ):
        GridArcShortestPathSolver(grid=(5, 5)).solve(np.ones(25))
    with pytest.raises(
        ValueError,
        match=r"solver 'scipy\.grid_shortest_path_edges': solve_batch "
        r"takes a stack of instances of shape \(n, 40\)",
    ):
        GridArcShortestPathSolver(grid=(5, 5)).solve_batch(np.ones(40))
    po = perturbopt.perturbed(NAME, solver_options={"grid": (5, 5)}, num_samples=2, seed=0)
    with pytest.raises(
        ValueError,
        match=r"'scipy\.grid_shortest_path_edges' takes instances "
        r"of shape \(40,\)",
    ):
        po.solve(np.ones((5, 5)))
    with pytest.raises(
        ValueError,
        match=r"solver 'scipy\.grid_shortest_path_edges': "
        r"grid=\(1, 1\) has 1 entry; it needs at least 2",
    ):
        GridArcShortestPathSolver(grid=(1, 1))
