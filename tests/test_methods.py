"""The decision-focused methods of perturbopt.torch against their definitions, on small
problems solved by brute force (every path of a 3 x 3 grid), for both senses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("perturbopt_scipy")

from perturbopt_scipy import grid_arcs

import perturbopt
from perturbopt import SumOfGamma
from perturbopt.torch import (
    IMLE,
    AdaptiveIMLE,
    BlackboxOptimizer,
    ContrastiveMAPLoss,
    ListwiseLTRLoss,
    NCELoss,
    NegativeIdentity,
    PairwiseLTRLoss,
    PerturbationGradientLoss,
    PointwiseLTRLoss,
    SPOPlus,
    imle,
)

GRID = (3, 3)
SOLVER = "scipy.grid_shortest_path_edges"
OPTIONS = {"solver_options": {"grid": GRID}}


def _all_paths(grid: tuple[int, int]) -> np.ndarray:
    """Every right/down path of the grid as arc indicators, by enumeration."""
    h, w = grid
    arcs = {arc: i for i, arc in enumerate(grid_arcs(grid))}
    paths = []
    for downs in itertools.combinations(range(h + w - 2), h - 1):
        node, y = 0, np.zeros(len(arcs))
        for step in range(h + w - 2):
            nxt = node + w if step in downs else node + 1
            y[arcs[(node, nxt)]] = 1.0
            node = nxt
        paths.append(y)
    return np.array(paths)


PATHS = _all_paths(GRID)  # (6, 12)


def brute_min(c: np.ndarray) -> np.ndarray:
    """argmin over every path, row by row."""
    return PATHS[np.argmin(np.atleast_2d(c) @ PATHS.T, axis=1)]


def brute_max(theta: np.ndarray) -> np.ndarray:
    return PATHS[np.argmax(np.atleast_2d(theta) @ PATHS.T, axis=1)]


def max_solver(theta: np.ndarray) -> np.ndarray:
    """A sense="max" solver over the same paths (for the sign flips)."""
    return brute_max(theta)[0]


def _data(seed: int, batch: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 2.0, (batch, 12)), rng.uniform(0.1, 2.0, (batch, 12))


def _t(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def test_the_grid_solver_agrees_with_brute_force() -> None:
    pred, _ = _data(0, 16)
    solver = perturbopt.get_solver(SOLVER, grid=GRID)
    np.testing.assert_array_equal(solver.solve_batch(pred), brute_min(pred))


# -- SPO+ ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_spo_plus_loss_and_subgradient_min(seed: int) -> None:
    pred, true = _data(seed)
    x = _t(pred, True)
    loss = SPOPlus(SOLVER, reduction="sum", **OPTIONS)(x, _t(true))
    loss.backward()
    w_true = brute_min(true)
    w_spo = brute_min(2 * pred - true)
    # max_w <c - 2 c_hat, w> over every path, + 2 <c_hat, w*(c)> - z*(c)
    expected = (
        ((true - 2 * pred) @ PATHS.T).max(axis=1)
        + 2 * (pred * w_true).sum(1)
        - (true * w_true).sum(1)
    )
    assert loss.item() == pytest.approx(expected.sum())
    np.testing.assert_allclose(x.grad.numpy(), 2 * (w_true - w_spo))


def test_spo_plus_with_given_truth_and_max_sense() -> None:
    pred, true = _data(2)
    w_true = brute_min(true)
    z = (true * w_true).sum(1)
    full = SPOPlus(SOLVER, reduction="none", **OPTIONS)
    given = full(_t(pred), _t(true), _t(w_true), _t(z))
    np.testing.assert_allclose(given.numpy(), full(_t(pred), _t(true)).numpy(), atol=1e-12)
    # a max solver on scores -c is the same problem: same losses, opposite gradient
    x = _t(-pred, True)
    losses = SPOPlus(max_solver, sense="max", reduction="none")(x, _t(-true))
    np.testing.assert_allclose(losses.detach().numpy(), given.numpy(), atol=1e-12)
    losses.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -2 * (w_true - brute_min(2 * pred - true)))


# -- blackbox and negative identity ------------------------------------------------------


@pytest.mark.parametrize("lam", [0.5, 5.0])
def test_blackbox_gradient_is_the_interpolation(lam: float) -> None:
    pred, g = _data(3)
    g = g - 1.0
    x = _t(pred, True)
    y = BlackboxOptimizer(SOLVER, lambda_=lam, **OPTIONS)(x)
    np.testing.assert_array_equal(y.detach().numpy(), brute_min(pred))
    (y * _t(g)).sum().backward()
    expected = (brute_min(pred + lam * g) - brute_min(pred)) / lam
    np.testing.assert_allclose(x.grad.numpy(), expected)
    # max sense: theta' = theta - lambda g, gradient (y - y*(theta')) / lambda
    theta = _t(-pred, True)
    y = BlackboxOptimizer(max_solver, sense="max", lambda_=lam)(theta)
    (y * _t(g)).sum().backward()
    expected = (brute_max(-pred) - brute_max(-pred - lam * g)) / lam
    np.testing.assert_allclose(theta.grad.numpy(), expected)


def test_negative_identity_backward() -> None:
    pred, g = _data(4)
    x = _t(pred, True)
    y = NegativeIdentity(SOLVER, **OPTIONS)(x)
    np.testing.assert_array_equal(y.detach().numpy(), brute_min(pred))
    (y * _t(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -g)
    theta = _t(pred, True)
    (NegativeIdentity(max_solver, sense="max")(theta) * _t(g)).sum().backward()
    np.testing.assert_allclose(theta.grad.numpy(), g)


# -- I-MLE --------------------------------------------------------------------------------


@pytest.mark.parametrize("two_sides", [False, True])
def test_imle_gradient_uses_the_same_noise(two_sides: bool) -> None:
    pred, g = _data(5, batch=3)
    g = g - 1.0
    eps, lam, samples = 0.5, 2.0, 7
    x = _t(pred, True)
    y = imle(
        x,
        SOLVER,
        lambda_=lam,
        two_sides=two_sides,
        kappa=4,
        epsilon=eps,
        num_samples=samples,
        seed=11,
        **OPTIONS,
    )
    # the noise of that call, drawn again from the same key
    po = perturbopt.perturbed(
        SOLVER, noise=SumOfGamma(k=4), epsilon=eps, num_samples=samples, **OPTIONS
    )
    z = po.solve(pred, seed=11).noise  # (M, B, d)

    def mean_solution(c: np.ndarray) -> np.ndarray:
        return np.mean([brute_min(c + eps * z[m]) for m in range(samples)], axis=0)

    np.testing.assert_allclose(y.detach().numpy(), mean_solution(pred))
    (y * _t(g)).sum().backward()
    if two_sides:
        expected = (mean_solution(pred + lam * g) - mean_solution(pred - lam * g)) / (2 * lam)
    else:
        expected = (mean_solution(pred + lam * g) - mean_solution(pred)) / lam
    np.testing.assert_allclose(x.grad.numpy(), expected, atol=1e-12)
    assert np.abs(expected).sum() > 0  # the check compared something


def test_imle_max_sense_is_the_papers_form() -> None:
    """Maximisation: theta' = theta - lambda g, gradient (MAP(theta + eps Z) -
    MAP(theta' + eps Z)) / lambda."""
    theta, g = _data(6, batch=2)
    eps, lam = 0.3, 1.5
    x = _t(theta, True)
    y = imle(x, max_solver, sense="max", lambda_=lam, epsilon=eps, num_samples=5, seed=3)
    po = perturbopt.perturbed(
        max_solver, sense="max", noise=SumOfGamma(), epsilon=eps, num_samples=5
    )
    z = po.solve(theta, seed=3).noise

    def mean_solution(t: np.ndarray) -> np.ndarray:
        return np.mean([brute_max(t + eps * z[m]) for m in range(5)], axis=0)

    (y * _t(g)).sum().backward()
    expected = (mean_solution(theta) - mean_solution(theta - lam * g)) / lam
    np.testing.assert_allclose(x.grad.numpy(), expected, atol=1e-12)


def test_imle_module_draws_fresh_noise_each_call_reproducibly() -> None:
    pred, _ = _data(7)
    a = IMLE(SOLVER, num_samples=3, seed=0, **OPTIONS)
    b = IMLE(SOLVER, num_samples=3, seed=0, **OPTIONS)
    first, second = a(_t(pred)), a(_t(pred))
    assert torch.equal(first, b(_t(pred))) and torch.equal(second, b(_t(pred)))


def test_adaptive_imle_step_and_alpha() -> None:
    pred, g = _data(8, batch=2)
    layer = AdaptiveIMLE(SOLVER, num_samples=4, seed=5, alpha=0.5, **OPTIONS)
    x = _t(pred, True)
    (layer(x) * _t(g)).sum().backward()
    lam = 0.5 * np.linalg.norm(pred) / np.linalg.norm(g)
    reference = IMLE(SOLVER, num_samples=4, seed=5, lambda_=lam, **OPTIONS)
    x2 = _t(pred, True)
    (reference(x2) * _t(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-9, atol=1e-12)
    density = float(np.mean(np.abs(x.grad.numpy()) > 1e-12))
    assert layer.density == pytest.approx(0.9 + 0.1 * density)
    assert layer.alpha == pytest.approx(0.5 + 1e-3)  # density < 1: alpha grows


# -- perturbation gradients ---------------------------------------------------------------


@pytest.mark.parametrize("two_sides", [False, True])
def test_perturbation_gradient_loss(two_sides: bool) -> None:
    pred, true = _data(9)
    h = 0.7

    def value(c: np.ndarray) -> np.ndarray:
        return (c @ PATHS.T).min(axis=1)

    x = _t(pred, True)
    loss = PerturbationGradientLoss(
        SOLVER, sigma=h, two_sides=two_sides, reduction="sum", **OPTIONS
    )(x, _t(true))
    loss.backward()
    if two_sides:
        expected = (value(pred + h * true) - value(pred - h * true)) / (2 * h)
        grad = (brute_min(pred + h * true) - brute_min(pred - h * true)) / (2 * h)
    else:
        expected = (value(pred) - value(pred - h * true)) / h
        grad = (brute_min(pred) - brute_min(pred - h * true)) / h
    assert loss.item() == pytest.approx(expected.sum())
    np.testing.assert_allclose(x.grad.numpy(), grad)


def test_perturbation_gradient_tends_to_the_decision_loss() -> None:
    pred, true = _data(10)
    loss = PerturbationGradientLoss(SOLVER, sigma=1e-6, reduction="none", **OPTIONS)
    decision = (true * brute_min(pred)).sum(1)
    np.testing.assert_allclose(loss(_t(pred), _t(true)).numpy(), decision, rtol=1e-4)


# -- pool losses --------------------------------------------------------------------------


def test_nce_and_cmap_over_the_pool() -> None:
    pred, true = _data(11)
    labels = brute_min(true)
    pool = perturbopt.SolutionPool(PATHS[:3])
    nce = NCELoss(SOLVER, pool=pool, reduction="none", **OPTIONS)
    x = _t(pred, True)
    losses = nce(x, _t(labels))
    members = pool.solutions  # the labels and w*(pred) joined the pool
    assert len(pool) >= 3
    assert {tuple(r) for r in labels} <= {tuple(r) for r in members}
    expected = (pred * labels).sum(1) - (pred @ members.T).mean(1)
    np.testing.assert_allclose(losses.detach().numpy(), expected)
    losses.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), labels - members.mean(0))
    cmap = ContrastiveMAPLoss(SOLVER, pool=pool, reduction="none", **OPTIONS)
    x = _t(pred, True)
    losses = cmap(x, _t(labels))
    expected = (pred * labels).sum(1) - (pred @ pool.solutions.T).min(1)
    np.testing.assert_allclose(losses.detach().numpy(), expected)
    assert (losses.detach().numpy() >= -1e-12).all()  # w* is in the pool
    losses.sum().backward()
    best = pool.solutions[np.argmin(pred @ pool.solutions.T, axis=1)]
    np.testing.assert_allclose(x.grad.numpy(), labels - best)


def test_nce_max_sense_flips_the_signs() -> None:
    pred, true = _data(12)
    labels = brute_min(true)
    pool = perturbopt.SolutionPool(PATHS)
    low = NCELoss(SOLVER, pool=pool, reduction="none", **OPTIONS)(_t(pred), _t(labels))
    high = NCELoss(max_solver, sense="max", pool=pool, reduction="none")(_t(-pred), _t(labels))
    np.testing.assert_allclose(low.numpy(), high.numpy())


def test_ltr_losses() -> None:
    pred, true = _data(13)
    pool = perturbopt.SolutionPool(PATHS)
    ours, truths = pred @ PATHS.T, true @ PATHS.T
    point = PointwiseLTRLoss(SOLVER, pool=pool, reduction="none", **OPTIONS)(_t(pred), _t(true))
    np.testing.assert_allclose(point.numpy(), ((ours - truths) ** 2).mean(1))
    pair = PairwiseLTRLoss(SOLVER, pool=pool, reduction="none", margin=0.1, **OPTIONS)
    best = truths.argmin(1)
    hinge = np.maximum(0.0, 0.1 + ours[np.arange(4), best][:, None] - ours)
    hinge[np.arange(4), best] = 0.0
    np.testing.assert_allclose(pair(_t(pred), _t(true)).numpy(), hinge.sum(1) / 5)
    tau = 0.5
    lst = ListwiseLTRLoss(SOLVER, pool=pool, reduction="none", temperature=tau, **OPTIONS)

    def log_softmax(v: np.ndarray) -> np.ndarray:
        v = v - v.max(1, keepdims=True)
        return v - np.log(np.exp(v).sum(1, keepdims=True))

    expected = -(np.exp(log_softmax(-truths / tau)) * log_softmax(-ours / tau)).sum(1)
    np.testing.assert_allclose(lst(_t(pred), _t(true)).numpy(), expected)


def test_ltr_seeds_an_empty_pool_from_the_true_solutions() -> None:
    pred, true = _data(14)
    loss_fn = PairwiseLTRLoss(SOLVER, solve_ratio=0.01, seed=0, **OPTIONS)
    loss_fn(_t(pred), _t(true))
    members = {tuple(r) for r in loss_fn.pool.solutions}
    assert {tuple(r) for r in brute_min(true)} <= members


def test_pool_losses_grow_by_solve_ratio() -> None:
    pred, true = _data(15, batch=64)
    pool = perturbopt.SolutionPool(brute_min(true)[:1])
    loss_fn = NCELoss(SOLVER, pool=pool, solve_ratio=1.0, **OPTIONS)
    loss_fn(_t(pred), _t(brute_min(true)))
    assert {tuple(r) for r in brute_min(pred)} <= {tuple(r) for r in pool.solutions}


# -- training -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["spo", "dbb", "nce"])
def test_training_on_a_generated_shortest_path_lowers_regret(method: str) -> None:
    from perturbopt import metrics
    from perturbopt.experiments.linear_shortest_path import make_linear_shortest_path

    options = {"solver_options": {"grid": (5, 5)}}
    data = make_linear_shortest_path(300, seed=1)
    x = torch.tensor(data.features, dtype=torch.float64)
    c = torch.tensor(data.costs, dtype=torch.float64)
    w = torch.tensor(perturbopt.perturbed(SOLVER, **options).hard(data.costs))
    train, test = slice(0, 200), slice(200, None)
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 40).double()

    def regret() -> float:
        with torch.no_grad():
            return metrics.regret(SOLVER, model(x[test]), c[test], **options)

    spo = SPOPlus(SOLVER, **options)
    dbb = BlackboxOptimizer(SOLVER, lambda_=20.0, **options)
    nce = NCELoss(SOLVER, pool=w[train], solve_ratio=0.1, seed=0, **options)
    before = regret()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(4):
        for rows in np.array_split(np.arange(200), 8):
            index = torch.as_tensor(rows)
            pred = model(x[index])
            if method == "spo":
                loss = spo(pred, c[index])
            elif method == "dbb":
                loss = (dbb(pred) * c[index]).sum(dim=1).mean()
            else:
                loss = nce(pred, w[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert regret() < 0.6 * before
