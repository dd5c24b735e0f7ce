"""The solution pool, solve_ratio over every method, the regret metrics, the sum-of-gamma
noise, and the errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest

import perturbopt
from perturbopt import SolutionPool, metrics

torch = pytest.importorskip("torch")
pytest.importorskip("perturbopt_scipy")

from perturbopt.torch import (
    IMLE,
    BlackboxOptimizer,
    FenchelYoungLoss,
    NCELoss,
    PerturbedOptimizer,
    SPOPlus,
)

GRID = (3, 3)
SOLVER = "scipy.grid_shortest_path_edges"
OPTIONS = {"solver_options": {"grid": GRID}}


def _paths(costs: np.ndarray) -> np.ndarray:
    return perturbopt.get_solver(SOLVER, grid=GRID).solve_batch(costs).astype(float)


# -- the pool -----------------------------------------------------------------------------


def test_pool_deduplicates_and_finds_the_best_member() -> None:
    rng = np.random.default_rng(0)
    members = _paths(rng.uniform(size=(200, 12)))
    pool = SolutionPool(members, seed=0)
    unique = np.unique(members, axis=0)
    assert len(pool) == len(unique) and pool.add(members) == 0
    assert pool.solutions.dtype == np.float64 and pool.nbytes == len(unique) * 12  # int8
    costs = rng.normal(size=(50, 12))
    best = pool.best(costs, "min")
    np.testing.assert_array_equal(best, unique[np.argmin(costs @ unique.T, axis=1)])
    np.testing.assert_array_equal(pool.best(costs, "max"), unique[np.argmax(costs @ unique.T, 1)])


def test_pool_is_memory_bounded_and_seeded() -> None:
    rows = np.eye(20)
    a, b = SolutionPool(max_size=5, seed=1), SolutionPool(max_size=5, seed=1)
    for pool in (a, b):
        pool.add(rows)
    assert len(a) == 5
    np.testing.assert_array_equal(a.solutions, b.solutions)
    assert {tuple(r) for r in a.solutions} <= {tuple(r) for r in rows}


def test_pool_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="the solution pool is empty"):
        SolutionPool().best(np.zeros((1, 3)))
    pool = SolutionPool(np.eye(3))
    with pytest.raises(ValueError, match=r"costs has shape \(2, 4\).*shape \(3,\)"):
        pool.best(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="max_size must be an integer >= 1"):
        SolutionPool(max_size=0)
    with pytest.raises(ValueError, match="pool holds solutions of shape"):
        NCELoss(SOLVER, pool=np.eye(3), **OPTIONS)


@pytest.mark.parametrize("ratio", [0.0, 1.5, -0.1])
def test_solve_ratio_outside_the_interval(ratio: float) -> None:
    with pytest.raises(ValueError, match=r"solve_ratio must be in \(0, 1\]"):
        SPOPlus(SOLVER, solve_ratio=ratio, **OPTIONS)
    with pytest.raises(ValueError, match=r"solve_ratio must be in \(0, 1\]"):
        FenchelYoungLoss(SOLVER, solve_ratio=ratio, **OPTIONS)


def test_pool_given_without_solve_ratio_is_refused() -> None:
    with pytest.raises(ValueError, match="pool= was given with solve_ratio=1"):
        BlackboxOptimizer(SOLVER, pool=SolutionPool(), **OPTIONS)


# -- solve_ratio over every method --------------------------------------------------------


def test_solve_ratio_sends_a_share_of_solves_to_the_solver() -> None:
    rng = np.random.default_rng(1)
    costs = torch.tensor(rng.uniform(0.1, 2.0, (64, 12)))
    pool = SolutionPool()
    loss_fn = FenchelYoungLoss(
        SOLVER, epsilon=0.5, num_samples=4, solve_ratio=0.25, pool=pool, seed=0, **OPTIONS
    )
    pooled = loss_fn.perturbed.solver
    labels = torch.tensor(_paths(costs.numpy()))
    loss_fn(costs, labels)  # first call: the pool is empty, every solve is exact
    assert pooled.exact_solves == 256 and len(pool) > 0
    for _ in range(100):
        loss_fn(costs, labels)
    share = (pooled.exact_solves - 256) / (pooled.exact_solves + pooled.pool_answers - 256)
    assert 0.13 < share < 0.37  # 100 calls, each exact with probability 0.25: SE 0.043
    # pool answers are feasible paths: 4 arcs, one of the pool's members
    y = PerturbedOptimizer(SOLVER, num_samples=2, solve_ratio=0.1, pool=pool, seed=0, **OPTIONS)(
        costs
    )
    np.testing.assert_allclose(y.sum(dim=1).numpy(), 4.0)


def test_solve_ratio_keeps_the_engine_options_for_the_real_solves() -> None:
    """The pool answers in the calling process; the exact solves still run isolated."""
    costs = torch.tensor(np.random.default_rng(5).uniform(0.1, 2.0, (8, 12)))
    layer = SPOPlus(SOLVER, solve_ratio=0.5, isolate=True, n_jobs=2, seed=0, **OPTIONS)
    exact = layer.perturbed.solver.exact
    assert exact.options.isolate and exact.options.n_jobs == 2
    assert layer.perturbed.options.n_jobs == 1
    loss = layer(costs, costs)
    assert torch.isfinite(loss) and loss.item() == pytest.approx(0.0, abs=1e-9)


def test_solve_ratio_is_reproducible_with_a_seed() -> None:
    rng = np.random.default_rng(2)
    costs = torch.tensor(rng.uniform(0.1, 2.0, (16, 12)))

    def run() -> list[torch.Tensor]:
        layer = IMLE(SOLVER, num_samples=3, solve_ratio=0.3, seed=4, **OPTIONS)
        return [layer(costs) for _ in range(3)]

    for a, b in zip(run(), run(), strict=True):
        assert torch.equal(a, b)


def test_solve_ratio_answers_from_a_seeded_pool_are_its_best_members() -> None:
    rng = np.random.default_rng(3)
    seeded = _paths(rng.uniform(size=(5, 12)))
    pool = SolutionPool(seeded)
    dbb = BlackboxOptimizer(SOLVER, solve_ratio=1e-9, pool=pool, seed=0, **OPTIONS)
    costs = rng.normal(size=(8, 12))
    y = dbb(torch.tensor(costs))
    np.testing.assert_array_equal(y.numpy(), pool.best(costs, "min"))


# -- metrics ------------------------------------------------------------------------------


def test_regret_against_brute_force() -> None:
    rng = np.random.default_rng(4)
    true, pred = rng.uniform(0.1, 2.0, (20, 12)), rng.uniform(0.1, 2.0, (20, 12))
    decided, best = _paths(pred), _paths(true)
    gaps = (true * decided).sum(1) - (true * best).sum(1)
    optimal = (true * best).sum(1)
    got = metrics.regret(SOLVER, pred, true, n_jobs=2, **OPTIONS)
    assert got == pytest.approx(gaps.sum() / np.abs(optimal).sum())
    assert metrics.regret(SOLVER, pred, true, normalized=False, **OPTIONS) == pytest.approx(
        gaps.mean()
    )
    assert metrics.regret(SOLVER, true, true, **OPTIONS) == 0.0
    assert metrics.optimal_share(SOLVER, pred, true, **OPTIONS) == pytest.approx(
        np.mean(gaps <= 1e-9)
    )
    with_obj = metrics.regret(SOLVER, torch.tensor(pred), true, true_obj=optimal, **OPTIONS)
    assert with_obj == pytest.approx(got)


def test_unambiguous_regret_takes_the_worst_tie() -> None:
    rng = np.random.default_rng(5)
    true = rng.uniform(0.1, 2.0, (6, 12))
    every = perturbopt.get_solver(SOLVER, grid=GRID)
    # all paths: enumerate by solving many random costs
    paths = np.unique(every.solve_batch(rng.normal(size=(2000, 12))), axis=0).astype(float)
    assert len(paths) == 6
    worst = (true @ paths.T).max(1)
    optimal = (true @ paths.T).min(1)
    zero = np.zeros_like(true)  # every path ties
    got = metrics.unambiguous_regret(SOLVER, zero, true, normalized=False, **OPTIONS)
    assert got == pytest.approx((worst - optimal).mean())
    # without ties it is the plain regret
    pred = rng.uniform(0.1, 2.0, (6, 12))
    assert metrics.unambiguous_regret(SOLVER, pred, true, **OPTIONS) == pytest.approx(
        metrics.regret(SOLVER, pred, true, **OPTIONS)
    )


def test_regret_of_a_max_solver() -> None:
    scores = np.array([[1.0, 3.0, 2.0], [2.0, 1.0, 0.0]])
    pred = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    assert metrics.regret("argmax", pred, scores, normalized=False) == pytest.approx(1.5)


def test_metric_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"true_costs has shape \(3, 5\)"):
        metrics.regret(SOLVER, np.zeros((3, 12)), np.zeros((3, 5)), **OPTIONS)
    with pytest.raises(ValueError, match="pred_costs contains NaN"):
        metrics.regret(SOLVER, np.full((1, 12), np.nan), np.zeros((1, 12)), **OPTIONS)
    with pytest.raises(ValueError, match="normalized=False"):
        metrics.regret("argmax", np.zeros((1, 3)), np.zeros((1, 3)))
    with pytest.raises(TypeError, match="unknown option 'epsilon'"):
        metrics.regret("argmax", np.zeros((1, 3)), np.ones((1, 3)), epsilon=1.0)


# -- the sum-of-gamma noise ---------------------------------------------------------------


def test_sum_of_gamma_is_registered_and_sums_to_a_gumbel() -> None:
    assert "sum_of_gamma" in {entry.name for entry in perturbopt.list_noises()}
    noise = perturbopt.SumOfGamma(k=4, iterations=200)
    z = noise.sample(np.random.default_rng(0), (40000, 4)).sum(axis=1)
    # a standard Gumbel: mean 0.5772, variance pi^2 / 6
    assert z.mean() == pytest.approx(0.5772, abs=0.03)
    assert z.var() == pytest.approx(np.pi**2 / 6, rel=0.05)
    po = perturbopt.perturbed("argmax", noise="sum_of_gamma", num_samples=4, seed=0)
    result = po.solve(np.zeros(3))
    with pytest.raises(NotImplementedError, match="no closed-form score"):
        result.vjp(np.ones(3))


# -- bad input ----------------------------------------------------------------------------


def test_method_errors_name_the_argument() -> None:
    spo = SPOPlus(SOLVER, **OPTIONS)
    good = torch.rand(2, 12)
    with pytest.raises(
        ValueError, match=r"pred_cost has shape \(2, 11\).*instances of shape \(12,\)"
    ):
        spo(torch.rand(2, 11), torch.rand(2, 11))
    with pytest.raises(TypeError, match="SPO\\+ needs true_cost, which is missing"):
        spo(good, None)
    with pytest.raises(ValueError, match=r"true_cost has shape \(3, 12\) but pred_cost"):
        spo(good, torch.rand(3, 12))
    with pytest.raises(ValueError, match="true_obj has 3 values"):
        spo(good, good, None, torch.rand(3))
    with pytest.raises(TypeError, match="pred_cost must be a floating-point tensor"):
        BlackboxOptimizer(SOLVER, **OPTIONS)(torch.ones(2, 12, dtype=torch.int64))
    with pytest.raises(ValueError, match="lambda_ must be a finite number > 0"):
        BlackboxOptimizer(SOLVER, lambda_=0.0, **OPTIONS)
    with pytest.raises(TypeError, match="NCE needs true_sol"):
        NCELoss(SOLVER, **OPTIONS)(good, None)
    with pytest.raises(TypeError, match="unknown option 'epsilom'"):
        SPOPlus(SOLVER, epsilom=1.0, **OPTIONS)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_methods_keep_the_callers_device_and_dtype() -> None:
    device = torch.device("cuda")
    pred = torch.rand(4, 12, device=device, dtype=torch.float32, requires_grad=True)
    true = torch.rand(4, 12, device=device)
    labels = torch.tensor(_paths(true.cpu().numpy()), device=device)
    outputs = [
        SPOPlus(SOLVER, **OPTIONS)(pred, true),
        BlackboxOptimizer(SOLVER, **OPTIONS)(pred).sum(),
        IMLE(SOLVER, num_samples=2, seed=0, **OPTIONS)(pred).sum(),
        NCELoss(SOLVER, **OPTIONS)(pred, labels),
    ]
    for out in outputs:
        assert out.device.type == "cuda" and out.dtype == torch.float32
        (grad,) = torch.autograd.grad(out, pred)
        assert grad.device.type == "cuda" and grad.dtype == torch.float32
