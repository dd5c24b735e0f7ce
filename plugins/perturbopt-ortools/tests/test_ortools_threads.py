"""One perturbed object over a user's OR-Tools model, used by four threads at once,
gives what a serial run with the same per-call seeds gives (these adapters write the
costs into their model on every solve: without one instance per thread they mixed
threads' costs, or aborted the interpreter)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from ortools.linear_solver.python import model_builder
from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

import perturbopt

WEIGHTS = [3, 4, 2, 5, 1, 6]
CAPACITY = 9


def cp_sat_options() -> dict:
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(WEIGHTS))]
    model.add(sum(w * xi for w, xi in zip(WEIGHTS, x, strict=True)) <= CAPACITY)
    return {"model": model, "variables": x}


def model_builder_options() -> dict:
    model = model_builder.Model()
    x = [model.new_num_var(0.0, 1.0, f"x{i}") for i in range(len(WEIGHTS))]
    model.add(model_builder.LinearExpr.weighted_sum(x, WEIGHTS) <= CAPACITY)
    return {"model": model, "variables": x}


def mathopt_options() -> dict:
    model = mathopt.Model(name="knapsack")
    x = [model.add_variable(lb=0.0, ub=1.0, name=f"x{i}") for i in range(len(WEIGHTS))]
    model.add_linear_constraint(sum(w * xi for w, xi in zip(WEIGHTS, x, strict=True)) <= CAPACITY)
    return {"model": model, "variables": x}


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("ortools.cp_sat", cp_sat_options),
        ("ortools.model_builder", model_builder_options),
        ("ortools.mathopt", mathopt_options),
    ],
)
def test_threads_sharing_one_object_get_the_serial_results(name: str, options) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    thetas = [rng.normal(size=(2, len(WEIGHTS))) for _ in range(24)]
    kwargs = {"solver_options": options(), "epsilon": 0.5, "num_samples": 8, "n_jobs": 1}
    serial = perturbopt.perturbed(name, seed=0, **kwargs)
    expected = [serial.solve(theta, seed=i).samples for i, theta in enumerate(thetas)]
    shared = perturbopt.perturbed(name, seed=0, **kwargs)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(shared.solve, theta, seed=i) for i, theta in enumerate(thetas)]
        got = [future.result().samples for future in futures]
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-9)
