"""ortools.mathopt: a user's own MathOpt model, against scipy linprog and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from ortools.math_opt.python import mathopt
from perturbopt_ortools import MathOptSolver, StatusError
from scipy.optimize import linprog

import perturbopt

NAME = "ortools.mathopt"
WEIGHTS = np.array([3.0, 4.0, 2.0, 5.0, 1.0, 6.0])
CAPACITY = 9.0


def lp(integer: bool = False) -> tuple[mathopt.Model, list[mathopt.Variable]]:
    """A (relaxed or 0/1) knapsack with one extra coupling row."""
    model = mathopt.Model(name="knapsack")
    add = (
        model.add_binary_variable
        if integer
        else (lambda name: model.add_variable(lb=0.0, ub=1.0, name=name))
    )
    x = [add(name=f"x{i}") for i in range(len(WEIGHTS))]
    model.add_linear_constraint(sum(w * xi for w, xi in zip(WEIGHTS, x, strict=True)) <= CAPACITY)
    model.add_linear_constraint(x[0] + x[1] <= 1.5)
    return model, x


@pytest.mark.parametrize("solver_type", ["GLOP", "HIGHS", "PDLP"])
def test_lp_against_linprog(solver_type: str) -> None:
    model, x = lp()
    solver = perturbopt.get_solver(NAME, model=model, variables=x, solver_type=solver_type)
    rng = np.random.default_rng(0)
    for _ in range(5):
        theta = rng.normal(size=len(WEIGHTS))
        reference = linprog(
            -theta,
            A_ub=[WEIGHTS, [1, 1, 0, 0, 0, 0]],
            b_ub=[CAPACITY, 1.5],
            bounds=[(0, 1)] * len(WEIGHTS),
            method="highs",
        )
        y = solver.solve(theta)
        assert y.dtype == np.float64
        assert theta @ y == pytest.approx(-reference.fun, abs=1e-6)


@pytest.mark.parametrize("solver_type", ["HIGHS", "GSCIP", "CP_SAT"])
def test_mip_and_expressions_against_brute_force(solver_type: str) -> None:
    model, x = lp(integer=True)
    variables = [x[0], 1 - x[1], 2 * x[2] + x[3], x[4], x[5]]
    solver = MathOptSolver(
        model=model,
        variables=variables,
        sense="min",
        solver_type=solver_type,
        threads=None if solver_type == "HIGHS" else 1,
    )
    theta = np.random.default_rng(1).normal(size=5)
    best = min(
        float(theta @ np.array([b[0], 1 - b[1], 2 * b[2] + b[3], b[4], b[5]]))
        for b in itertools.product([0, 1], repeat=len(WEIGHTS))
        if WEIGHTS @ np.array(b) <= CAPACITY and b[0] + b[1] <= 1.5
    )
    assert theta @ solver.solve(theta) == pytest.approx(best, abs=1e-6)


def test_perturbed_mean_in_the_polytope_and_converges() -> None:
    model, x = lp()
    options = {"model": model, "variables": x}
    theta = np.random.default_rng(2).normal(size=len(WEIGHTS))
    hard = perturbopt.get_solver(NAME, **options).solve(theta)
    means = [
        perturbopt.perturbed(NAME, solver_options=options, epsilon=epsilon, num_samples=30, seed=0)
        .solve(theta)
        .mean
        for epsilon in (1.0, 1e-7)
    ]
    for mean in means:
        assert WEIGHTS @ mean <= CAPACITY + 1e-9 and mean[0] + mean[1] <= 1.5 + 1e-9
        assert mean.min() >= -1e-9 and mean.max() <= 1 + 1e-9
    assert np.abs(means[0] - hard).max() > 0.05
    np.testing.assert_allclose(means[1], hard, atol=1e-9)


def test_torch_gradient_equals_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    model, x = lp()
    rng = np.random.default_rng(3)
    theta, g = rng.normal(size=len(WEIGHTS)), rng.normal(size=len(WEIGHTS))
    options = {
        "epsilon": 0.5,
        "num_samples": 20,
        "seed": 0,
        "solver_options": {"model": model, "variables": x},
    }
    layer = tp.PerturbedOptimizer(NAME, **options)
    tensor = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    y = layer(tensor)
    (y * torch.as_tensor(g)).sum().backward()
    grad = tensor.grad.numpy()
    assert grad.shape == theta.shape and np.isfinite(grad).all()
    result = perturbopt.perturbed(NAME, **options).solve(theta)
    np.testing.assert_allclose(y.detach().numpy(), result.mean)
    np.testing.assert_allclose(grad, result.vjp(g), rtol=1e-10, atol=1e-12)


def test_workers_and_warm_start_give_identical_results() -> None:
    model, x = lp(integer=True)
    theta = np.random.default_rng(4).normal(size=len(WEIGHTS))
    results = {}
    for n_jobs, warm in ((1, False), (2, False), (2, True)):
        po = perturbopt.perturbed(
            NAME,
            solver_options={"model": model, "variables": x, "solver_type": "HIGHS"},
            epsilon=0.5,
            num_samples=30,
            seed=0,
            n_jobs=n_jobs,
            warm_start=warm,
        )
        po._spec.seconds_per_row = 1.0  # force dispatch to the worker processes
        results[n_jobs, warm] = po.solve(theta).samples
    np.testing.assert_array_equal(results[1, False], results[2, False])
    np.testing.assert_array_equal(results[1, False], results[2, True])
    assert 0 < results[1, False].mean() < 1


def test_user_model_is_not_modified() -> None:
    model, x = lp()
    model.minimize(x[0])
    before = model.export_model()
    perturbopt.perturbed(
        NAME, solver_options={"model": model, "variables": x}, num_samples=3, seed=0
    ).solve(np.ones(len(WEIGHTS)))
    assert model.export_model() == before


def test_errors_name_the_solver_and_the_problem() -> None:
    model, x = lp()
    po = perturbopt.perturbed(
        NAME, solver_options={"model": model, "variables": x}, num_samples=2, seed=0
    )
    with pytest.raises(ValueError, match=r"'ortools.mathopt' takes instances of shape \(6,\)"):
        po.solve(np.ones(5))
    unbounded = mathopt.Model()
    free = [unbounded.add_variable(lb=0.0), unbounded.add_variable(lb=0.0, ub=1.0)]
    with pytest.raises(StatusError, match=r"'ortools.mathopt'.*UNBOUNDED.*unbounded"):
        MathOptSolver(model=unbounded, variables=free).solve(np.array([1.0, 1.0]))
    model.add_linear_constraint(x[0] >= 2.0)
    infeasible = MathOptSolver(model=model, variables=x)
    with pytest.raises(StatusError, match=r"'ortools.mathopt'.*INFEASIBLE.*no feasible solution"):
        infeasible.solve(np.ones(len(WEIGHTS)))
    mip, y = lp(integer=True)
    with pytest.raises(ValueError, match="GLOP solves LPs only.*integer variable.*HIGHS"):
        MathOptSolver(model=mip, variables=y)
    with pytest.raises(ValueError, match="unknown solver_type 'CPLEX'"):
        MathOptSolver(model=mip, variables=y, solver_type="CPLEX")
    _, z = lp()
    with pytest.raises(ValueError, match=r"variables\[0\].*another model"):
        MathOptSolver(model=mip, variables=z, solver_type="HIGHS")
    highs = MathOptSolver(model=mip, variables=y, solver_type="HIGHS", threads=2)
    with pytest.raises(StatusError, match="'ortools.mathopt'.*ERROR.*threads not supported"):
        highs.solve(np.ones(len(WEIGHTS)))
