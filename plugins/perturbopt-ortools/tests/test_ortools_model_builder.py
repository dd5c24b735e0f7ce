"""ortools.model_builder: a user's own ModelBuilder model, against scipy linprog, brute
force and ortools.mathopt; pickling, workers, errors."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from ortools.linear_solver.python import model_builder
from ortools.math_opt.python import mathopt
from perturbopt_ortools import ModelBuilderSolver, StatusError
from scipy.optimize import linprog

import perturbopt

NAME = "ortools.model_builder"
WEIGHTS = np.array([3.0, 4.0, 2.0, 5.0, 1.0, 6.0])
CAPACITY = 9.0


def knapsack(integer: bool = False) -> tuple[model_builder.Model, list]:
    """A (relaxed or 0/1) knapsack with one extra coupling row."""
    model = model_builder.Model()
    x = [
        model.new_bool_var(f"x{i}") if integer else model.new_num_var(0.0, 1.0, f"x{i}")
        for i in range(len(WEIGHTS))
    ]
    model.add(model_builder.LinearExpr.weighted_sum(x, WEIGHTS.tolist()) <= CAPACITY)
    model.add(x[0] + x[1] <= 1.5)
    return model, x


@pytest.mark.parametrize("solver_type", ["glop", "pdlp"])
def test_lp_against_linprog(solver_type: str) -> None:
    model, x = knapsack()
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


def test_mip_and_expressions_against_brute_force() -> None:
    model, x = knapsack(integer=True)
    variables = [x[0], 1 - x[1], 2 * x[2] + x[3], x[4], x[5]]
    solver = ModelBuilderSolver(model=model, variables=variables, sense="min", solver_type="scip")
    rng = np.random.default_rng(1)
    for _ in range(5):
        theta = rng.normal(size=5)
        best = min(
            float(theta @ np.array([b[0], 1 - b[1], 2 * b[2] + b[3], b[4], b[5]]))
            for b in itertools.product([0, 1], repeat=len(WEIGHTS))
            if WEIGHTS @ np.array(b) <= CAPACITY and b[0] + b[1] <= 1.5
        )
        hard = solver.solve(theta)
        assert theta @ hard == pytest.approx(best, abs=1e-6)
        hint = hard.copy()
        hint.setflags(write=False)
        assert theta @ solver.solve(theta, hint=hint) == pytest.approx(best, abs=1e-6)


def test_same_optimum_as_mathopt_glop() -> None:
    model, x = knapsack()
    other = mathopt.Model()
    z = [other.add_variable(lb=0.0, ub=1.0) for _ in WEIGHTS]
    other.add_linear_constraint(sum(w * zi for w, zi in zip(WEIGHTS, z, strict=True)) <= CAPACITY)
    other.add_linear_constraint(z[0] + z[1] <= 1.5)
    ours = perturbopt.get_solver(NAME, model=model, variables=x)
    theirs = perturbopt.get_solver("ortools.mathopt", model=other, variables=z)
    for theta in np.random.default_rng(2).normal(size=(10, len(WEIGHTS))):
        assert theta @ ours.solve(theta) == pytest.approx(theta @ theirs.solve(theta), abs=1e-9)


def test_pickle_workers_and_the_user_model() -> None:
    model, x = knapsack()
    before = model.export_to_proto()
    solver = ModelBuilderSolver(model=model, variables=x, sense="min")
    theta = np.random.default_rng(3).normal(size=len(WEIGHTS))
    copy = pickle.loads(pickle.dumps(solver))
    np.testing.assert_array_equal(copy.solve(theta), solver.solve(theta))
    assert copy.sense == "min" and copy.shape == (len(WEIGHTS),)
    samples = {}
    for n_jobs in (1, 2):
        po = perturbopt.perturbed(
            NAME,
            solver_options={"model": model, "variables": x},
            epsilon=0.5,
            num_samples=30,
            seed=0,
            n_jobs=n_jobs,
        )
        po._spec.seconds_per_row = 1.0  # force dispatch to the workers
        samples[n_jobs] = po.solve(theta).samples
    np.testing.assert_array_equal(samples[1], samples[2])
    assert model.export_to_proto() == before


def test_errors_name_the_solver_and_the_problem() -> None:
    model, x = knapsack()
    with pytest.raises(ValueError, match=r"'ortools.model_builder' takes instances of shape"):
        perturbopt.perturbed(
            NAME, solver_options={"model": model, "variables": x}, num_samples=2, seed=0
        ).solve(np.ones(5))
    free = model_builder.Model()
    unbounded = [free.new_num_var(0.0, np.inf, "u"), free.new_num_var(0.0, 1.0, "v")]
    with pytest.raises(StatusError, match=r"'ortools.model_builder'.*INFEASIBLE.*unbounded"):
        ModelBuilderSolver(model=free, variables=unbounded).solve(np.ones(2))
    model.add(x[0] >= 2.0)
    with pytest.raises(StatusError, match=r"INFEASIBLE.*no feasible solution"):
        ModelBuilderSolver(model=model, variables=x).solve(np.ones(len(WEIGHTS)))
    mip, y = knapsack(integer=True)
    with pytest.raises(ValueError, match=r"'glop' solves LPs only.*solver_type='scip'"):
        ModelBuilderSolver(model=mip, variables=y)
    with pytest.raises(ValueError, match=r"unknown solver_type 'highs'.*ortools.mathopt"):
        ModelBuilderSolver(model=mip, variables=y, solver_type="highs")
    with pytest.raises(TypeError, match=r"variables\[0\] is a str"):
        ModelBuilderSolver(model=mip, variables=["x0"])
    with pytest.raises(TypeError, match="must be an ortools.linear_solver.python.model_builder"):
        ModelBuilderSolver(model="model", variables=y)  # type: ignore[arg-type]
    _, other = knapsack()
    bigger = model_builder.Model()
    bigger.new_num_var(0.0, 1.0, "only")
    with pytest.raises(ValueError, match=r"variables\[1\].*not in the model"):
        ModelBuilderSolver(model=bigger, variables=other[:2])
