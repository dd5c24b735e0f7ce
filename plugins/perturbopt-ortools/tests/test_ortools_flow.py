"""ortools.shortest_path and ortools.min_cost_flow against networkx and scipy linprog."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from perturbopt_ortools import StatusError
from scipy.optimize import linprog

import perturbopt

PATH = "ortools.shortest_path"
FLOW = "ortools.min_cost_flow"


def random_graph(seed: int, nodes: int = 8, p: float = 0.35) -> np.ndarray:
    """A random directed graph with a Hamiltonian chain 0 -> 1 -> ... so 0 reaches all."""
    rng = np.random.default_rng(seed)
    edges = {(i, i + 1) for i in range(nodes - 1)}
    edges |= {(i, j) for i in range(nodes) for j in range(nodes) if i != j and rng.random() < p}
    return np.array(sorted(edges))


def incidence(edges: np.ndarray, nodes: int) -> np.ndarray:
    """Node-edge incidence: +1 at the tail, -1 at the head (out minus in)."""
    matrix = np.zeros((nodes, len(edges)))
    matrix[edges[:, 0], np.arange(len(edges))] = 1
    matrix[edges[:, 1], np.arange(len(edges))] = -1
    return matrix


def test_shortest_path_matches_networkx() -> None:
    for seed in range(15):
        edges = random_graph(seed)
        theta = np.random.default_rng(100 + seed).uniform(0.1, 2.0, size=len(edges))
        graph = nx.DiGraph()
        graph.add_weighted_edges_from(
            (int(t), int(h), w) for (t, h), w in zip(edges, theta, strict=True)
        )
        best = nx.shortest_path_length(graph, 0, 7, weight="weight")
        y = perturbopt.get_solver(PATH, edges=edges, source=0, target=7).solve(theta)
        assert set(np.unique(y)) <= {0, 1}
        np.testing.assert_allclose(y @ theta, best, atol=len(edges) * 1e-6)
        flow = incidence(edges, 8) @ y
        np.testing.assert_array_equal(flow, np.eye(8)[0] - np.eye(8)[7])


def test_shortest_path_with_negative_edges_but_no_negative_cycle() -> None:
    edges = np.array([(0, 1), (1, 2), (0, 2), (2, 3)])
    theta = np.array([1.0, -3.0, 0.0, 1.0])
    allow = perturbopt.get_solver(PATH, edges=edges, source=0, target=3, negative_costs="allow")
    np.testing.assert_array_equal(allow.solve(theta), [1, 1, 0, 1])
    clip = perturbopt.get_solver(PATH, edges=edges, source=0, target=3)  # the default
    np.testing.assert_array_equal(clip.solve(theta), [0, 0, 1, 1])  # 0 -> 2 now costs 0
    error = perturbopt.get_solver(PATH, edges=edges, source=0, target=3, negative_costs="error")
    with pytest.raises(ValueError, match=r"edge costs must be non-negative, but theta\[1\] = -3"):
        error.solve(theta)


def test_shortest_path_perturbed_mean_is_a_unit_flow_and_converges() -> None:
    edges = random_graph(3)
    theta = np.random.default_rng(4).uniform(0.5, 2.0, size=len(edges))
    options = {"edges": edges, "source": 0, "target": 7}
    hard = perturbopt.get_solver(PATH, **options).solve(theta)
    errors = []
    for epsilon in (0.5, 1e-7):
        mean = (
            perturbopt.perturbed(
                PATH,
                solver_options=options,
                epsilon=epsilon,
                num_samples=40,
                perturbation="multiplicative",
                seed=0,
            )
            .solve(theta)
            .mean
        )
        np.testing.assert_allclose(
            incidence(edges, 8) @ mean, np.eye(8)[0] - np.eye(8)[7], atol=1e-12
        )
        assert mean.min() >= 0 and mean.max() <= 1
        errors.append(np.abs(mean - hard).max())
    assert errors[0] > 0.05 and errors[1] == 0.0


def test_min_cost_flow_matches_linprog() -> None:
    rng = np.random.default_rng(5)
    for seed in range(8):
        edges = random_graph(seed, nodes=7)
        capacities = rng.integers(1, 4, size=len(edges))
        supplies = np.array([3, 0, 0, 0, 0, 0, -3])
        theta = rng.normal(size=len(edges))
        for sense in ("min", "max"):
            solver = perturbopt.get_solver(
                FLOW, edges=edges, capacities=capacities, supplies=supplies, sense=sense
            )
            sign = 1 if sense == "min" else -1
            lp = linprog(
                sign * theta,
                A_eq=incidence(edges, 7),
                b_eq=supplies,
                bounds=list(zip([0] * len(edges), capacities, strict=True)),
                method="highs",
            )
            assert lp.status == 0
            y = solver.solve(theta)
            np.testing.assert_allclose(sign * (y @ theta), lp.fun, atol=1e-5)
            np.testing.assert_array_equal(incidence(edges, 7) @ y, supplies)


def test_min_cost_flow_perturbed_mean_keeps_conservation_and_capacities() -> None:
    edges = random_graph(1, nodes=6)
    capacities = np.full(len(edges), 2)
    supplies = np.array([2, 1, 0, 0, 0, -3])
    options = {"edges": edges, "capacities": capacities, "supplies": supplies}
    theta = np.random.default_rng(6).normal(size=len(edges))
    hard = perturbopt.get_solver(FLOW, **options).solve(theta)
    mean = (
        perturbopt.perturbed(FLOW, solver_options=options, epsilon=1.0, num_samples=40, seed=0)
        .solve(theta)
        .mean
    )
    np.testing.assert_allclose(incidence(edges, 6) @ mean, supplies, atol=1e-12)
    assert mean.min() >= 0 and np.all(mean <= capacities)
    assert np.abs(mean - hard).max() > 0.05
    tiny = (
        perturbopt.perturbed(FLOW, solver_options=options, epsilon=1e-7, num_samples=10, seed=0)
        .solve(theta)
        .mean
    )
    np.testing.assert_array_equal(tiny, hard)


@pytest.mark.parametrize("name", [PATH, FLOW])
def test_torch_gradient_equals_vjp(name: str) -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    edges = random_graph(2)
    solver_options = (
        {"edges": edges, "source": 0, "target": 7}
        if name == PATH
        else {
            "edges": edges,
            "capacities": np.ones(len(edges), dtype=int),
            "supplies": np.eye(8, dtype=int)[0] - np.eye(8, dtype=int)[7],
        }
    )
    rng = np.random.default_rng(7)
    theta, g = rng.uniform(0.5, 2.0, size=len(edges)), rng.normal(size=len(edges))
    options = {"epsilon": 0.3, "num_samples": 30, "seed": 0, "solver_options": solver_options}
    layer = tp.PerturbedOptimizer(name, **options)
    tensor = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    y = layer(tensor)
    (y * torch.as_tensor(g)).sum().backward()
    grad = tensor.grad.numpy()
    assert grad.shape == theta.shape and np.isfinite(grad).all()
    result = perturbopt.perturbed(name, **options).solve(theta)
    np.testing.assert_allclose(y.detach().numpy(), result.mean)
    np.testing.assert_allclose(grad, result.vjp(g), rtol=1e-10, atol=1e-12)


def test_wrong_theta_length_is_caught_before_any_solve() -> None:
    po = perturbopt.perturbed(
        PATH,
        solver_options={"edges": [(0, 1), (1, 2)], "source": 0, "target": 2},
        num_samples=2,
        seed=0,
    )
    with pytest.raises(ValueError, match=r"'ortools.shortest_path'.*shape \(2,\)"):
        po.solve(np.ones(3))
    solver = perturbopt.get_solver(FLOW, edges=[(0, 1)], capacities=[1], supplies=[1, -1])
    with pytest.raises(
        ValueError,
        match=r"'ortools.min_cost_flow'.*\(2,\).*\(1,\) \(one unit "
        r"cost per edge\)",
    ):
        solver.solve(np.ones(2))


def test_disconnected_source_and_target() -> None:
    solver = perturbopt.get_solver(PATH, edges=[(0, 1), (2, 3)], source=0, target=3)
    with pytest.raises(
        StatusError,
        match=r"'ortools.shortest_path'.*INFEASIBLE.*no path from "
        r"source 0 to target 3",
    ):
        solver.solve(np.ones(2))
    po = perturbopt.perturbed(
        PATH,
        solver_options={"edges": [(0, 1), (2, 3)], "source": 0, "target": 3},
        num_samples=3,
        seed=0,
    )
    with pytest.raises(perturbopt.SolverError, match="sample 0.*INFEASIBLE"):
        po.solve(np.ones(2))


def test_negative_cycle_on_a_source_target_walk_is_named() -> None:
    # 1 -> 2 -> 1 is a cycle beside the path 0 -> 1 -> 3; 4 -> 5 -> 4 is off every walk.
    solver = perturbopt.get_solver(
        PATH,
        edges=[(0, 1), (1, 2), (2, 1), (1, 3), (4, 5), (5, 4)],
        source=0,
        target=3,
        negative_costs="allow",
    )
    with pytest.raises(
        StatusError,
        match=r"'ortools.shortest_path'.*NEGATIVE_CYCLE: the cycle "
        r"1 -> 2 -> 1 \(edges 1, 2\) has total cost -1.*"
        r"negative_costs='clip'",
    ) as caught:
        solver.solve(np.array([1.0, -2.0, 1.0, 1.0, 1.0, 1.0]))
    assert caught.value.status == "NEGATIVE_CYCLE"
    for theta in (
        [1.0, 1.0, 1.0, 1.0, -1.0, 0.5],  # negative, but on no walk: harmless
        [1.0, -1.0, 1.0, 1.0, 1.0, 1.0],
    ):  # a zero-cost cycle beside the path
        np.testing.assert_array_equal(solver.solve(np.array(theta)), [1, 0, 0, 1, 0, 0])


def test_negative_cycle_through_the_path_is_not_accepted_silently() -> None:
    # The path 0 -> 1 -> 2 -> 3 uses 1 -> 2, so unit capacities keep the flow from going
    # round the negative cycle 1 -> 2 -> 1: the flow alone looks like a valid path.
    solver = perturbopt.get_solver(
        PATH, edges=[(0, 1), (1, 2), (2, 3), (2, 1)], source=0, target=3, negative_costs="allow"
    )
    with pytest.raises(
        StatusError,
        match=r"NEGATIVE_CYCLE: the cycle (1 -> 2 -> 1|2 -> 1 -> 2) "
        r"\(edges (1, 3|3, 1)\) has total cost -4",
    ):
        solver.solve(np.array([1.0, 1.0, 1.0, -5.0]))


def test_zero_cost_cycles_are_harmless() -> None:
    solver = perturbopt.get_solver(
        PATH, edges=[(0, 3), (0, 1), (2, 0), (1, 2), (2, 3)], source=0, target=3
    )
    y = solver.solve(np.array([0.0, 0.0, 0.0, 0.0, 1.0]))
    assert y.dtype == np.int8
    np.testing.assert_array_equal(y, [1, 0, 0, 0, 0])


def test_grids_with_zero_costs_match_networkx() -> None:
    """Random grids with both directions of every edge and many zero costs."""
    rng = np.random.default_rng(11)
    for trial in range(200):
        rows, cols = rng.integers(2, 5, size=2)
        nodes = np.arange(rows * cols).reshape(rows, cols)
        pairs = [
            (a, b) for a, b in zip(nodes[:, :-1].ravel(), nodes[:, 1:].ravel(), strict=True)
        ] + [(a, b) for a, b in zip(nodes[:-1].ravel(), nodes[1:].ravel(), strict=True)]
        edges = np.array(pairs + [(b, a) for a, b in pairs])
        theta = rng.integers(0, 3, size=len(edges)).astype(float)
        source, target = rng.choice(rows * cols, size=2, replace=False)
        graph = nx.DiGraph()
        graph.add_weighted_edges_from(
            (int(t), int(h), w) for (t, h), w in zip(edges, theta, strict=True)
        )
        best = nx.shortest_path_length(graph, int(source), int(target), weight="weight")
        y = perturbopt.get_solver(PATH, edges=edges, source=int(source), target=int(target)).solve(
            theta
        )
        assert y @ theta == best, trial
        flow = incidence(edges, rows * cols) @ y
        np.testing.assert_array_equal(
            flow, np.eye(rows * cols)[source] - np.eye(rows * cols)[target]
        )
        assert np.all(np.bincount(edges[y == 1, 0], minlength=rows * cols) <= 1)  # simple


def test_clip_counts_negative_costs_as_zero() -> None:
    edges = np.array([(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 3)])
    options = {"edges": edges, "source": 0, "target": 3}
    theta = np.array([0.1, 0.1, 0.2, 0.2, 1.0, 0.5])
    allow = {**options, "negative_costs": "allow"}
    plain = perturbopt.perturbed(PATH, solver_options=allow, epsilon=1.0, num_samples=20, seed=0)
    with pytest.raises(perturbopt.SolverError, match="NEGATIVE_CYCLE"):
        plain.solve(theta)
    clip = options  # "clip" is the default
    result = perturbopt.perturbed(
        PATH, solver_options=clip, epsilon=1.0, num_samples=20, seed=0
    ).solve(theta)
    np.testing.assert_allclose(incidence(edges, 4) @ result.mean, [1, 0, 0, -1], atol=1e-12)
    solver = perturbopt.get_solver(PATH, **clip)
    rng = np.random.default_rng(12)
    for _ in range(20):
        costs = rng.normal(size=len(edges))
        graph = nx.DiGraph()
        graph.add_weighted_edges_from(
            (int(t), int(h), max(w, 0.0)) for (t, h), w in zip(edges, costs, strict=True)
        )
        best = nx.shortest_path_length(graph, 0, 3, weight="weight")
        assert np.maximum(costs, 0) @ solver.solve(costs) == pytest.approx(best, abs=1e-5)
    with pytest.raises(
        ValueError, match=r"negative_costs must be 'clip' or 'error' or 'allow', got 'never'"
    ):
        perturbopt.get_solver(PATH, **options, negative_costs="never")


def test_bad_graph_options() -> None:
    with pytest.raises(ValueError, match=r"'ortools.shortest_path'.*target=5 is not a node"):
        perturbopt.get_solver(PATH, edges=[(0, 1)], source=0, target=5)
    with pytest.raises(ValueError, match="source and target are both node 1"):
        perturbopt.get_solver(PATH, edges=[(0, 1)], source=1, target=1)
    with pytest.raises(ValueError, match=r"edges must be \(tail, head\) pairs.*shape \(3,\)"):
        perturbopt.get_solver(PATH, edges=[0, 1, 2], source=0, target=1)
    with pytest.raises(ValueError, match=r"'ortools.min_cost_flow'.*supplies sum to 1"):
        perturbopt.get_solver(FLOW, edges=[(0, 1)], capacities=[1], supplies=[2, -1])
    with pytest.raises(ValueError, match=r"capacities\[0\] = -1 is negative"):
        perturbopt.get_solver(FLOW, edges=[(0, 1)], capacities=[-1], supplies=[1, -1])
    too_small = perturbopt.get_solver(FLOW, edges=[(0, 1)], capacities=[1], supplies=[2, -2])
    with pytest.raises(StatusError, match=r"'ortools.min_cost_flow'.*INFEASIBLE.*capacities"):
        too_small.solve(np.ones(1))
