"""ortools.cp_sat: a user's own CP-SAT model, against brute force; workers and warm starts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from ortools.sat.python import cp_model
from perturbopt_ortools import CpSatSolver, StatusError

import perturbopt

NAME = "ortools.cp_sat"
WEIGHTS = np.array([3, 4, 2, 5, 1, 6, 2])
CAPACITY = 10


def knapsack() -> tuple[cp_model.CpModel, list[cp_model.IntVar]]:
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(WEIGHTS))]
    model.add(sum(int(w) * xi for w, xi in zip(WEIGHTS, x, strict=True)) <= CAPACITY)
    return model, x


def brute_force(theta: np.ndarray, sense: str = "max") -> tuple[float, float]:
    """Best and second best objective over the feasible subsets."""
    values = sorted(
        (
            float(theta @ y)
            for y in itertools.product([0, 1], repeat=len(WEIGHTS))
            if WEIGHTS @ np.array(y) <= CAPACITY
        ),
        reverse=sense == "max",
    )
    return values[0], values[1]


@pytest.mark.parametrize("sense", ["max", "min"])
def test_knapsack_against_brute_force(sense: str) -> None:
    model, x = knapsack()
    solver = perturbopt.get_solver(NAME, model=model, variables=x, sense=sense)
    rng = np.random.default_rng(0)
    for _ in range(10):
        theta = rng.normal(size=len(WEIGHTS))
        best, second = brute_force(theta, sense)
        assert abs(best - second) > len(WEIGHTS) * 1e-6
        y = solver.solve(theta)
        assert WEIGHTS @ y <= CAPACITY and set(np.unique(y)) <= {0, 1}
        assert theta @ y == pytest.approx(best, abs=1e-12)


def test_expressions_and_nested_shape() -> None:
    model, x = knapsack()
    z = model.new_int_var(-2, 3, "z")
    model.add(z <= x[0] + x[1] + 1)
    variables = [[x[0], ~x[1]], [2 * z + 1, x[2] + x[3] - 1]]
    solver = CpSatSolver(model=model, variables=variables)
    assert solver.shape == (2, 2)
    theta = np.array([[1.0, 0.3], [0.7, -0.2]])
    # Brute force over x0..x3 (the other items at 0) and z.
    best = -np.inf
    for bits in itertools.product([0, 1], repeat=4):
        if WEIGHTS[:4] @ np.array(bits) > CAPACITY:
            continue
        for value in range(-2, min(3, bits[0] + bits[1] + 1) + 1):
            y = np.array([[bits[0], 1 - bits[1]], [2 * value + 1, bits[2] + bits[3] - 1]])
            best = max(best, float((theta * y).sum()))
    y = solver.solve(theta)
    assert (theta * y).sum() == pytest.approx(best)


def test_user_model_is_not_modified() -> None:
    model, x = knapsack()
    model.maximize(x[0])
    before = str(model.proto)
    perturbopt.perturbed(
        NAME,
        solver_options={"model": model, "variables": x},
        num_samples=3,
        seed=0,
        warm_start=True,
    ).solve(np.ones(len(WEIGHTS)))
    assert str(model.proto) == before


def test_perturbed_mean_is_feasible_on_average_and_converges() -> None:
    model, x = knapsack()
    options = {"model": model, "variables": x}
    theta = np.random.default_rng(1).normal(size=len(WEIGHTS))
    hard = perturbopt.get_solver(NAME, **options).solve(theta)
    means = [
        perturbopt.perturbed(NAME, solver_options=options, epsilon=epsilon, num_samples=30, seed=0)
        .solve(theta)
        .mean
        for epsilon in (1.0, 1e-7)
    ]
    for mean in means:  # a convex combination of feasible points satisfies the constraint
        assert WEIGHTS @ mean <= CAPACITY + 1e-12
        assert mean.min() >= 0 and mean.max() <= 1
    assert np.abs(means[0] - hard).max() > 0.05
    np.testing.assert_array_equal(means[1], hard)


def test_torch_gradient_equals_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    model, x = knapsack()
    rng = np.random.default_rng(2)
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
    model, x = knapsack()
    theta = np.random.default_rng(3).normal(size=(2, len(WEIGHTS)))
    results = {}
    for n_jobs, warm in ((1, False), (2, False), (2, True)):
        po = perturbopt.perturbed(
            NAME,
            solver_options={"model": model, "variables": x},
            epsilon=0.5,
            num_samples=40,
            seed=0,
            n_jobs=n_jobs,
            warm_start=warm,
        )
        po._spec.seconds_per_row = 1.0  # force dispatch to the worker processes
        results[n_jobs, warm] = po.solve(theta).samples
    np.testing.assert_array_equal(results[1, False], results[2, False])
    np.testing.assert_array_equal(results[1, False], results[2, True])
    assert 0 < results[1, False].mean() < 1


def test_pickle_round_trip_rebuilds_the_model() -> None:
    import pickle

    model, x = knapsack()
    solver = CpSatSolver(model=model, variables=x, sense="min")
    theta = np.random.default_rng(4).normal(size=len(WEIGHTS))
    copy = pickle.loads(pickle.dumps(solver))
    np.testing.assert_array_equal(copy.solve(theta), solver.solve(theta))
    assert copy.sense == "min" and copy.shape == (len(WEIGHTS),)


def test_errors_name_the_solver_and_the_problem() -> None:
    model, x = knapsack()
    po = perturbopt.perturbed(
        NAME, solver_options={"model": model, "variables": x}, num_samples=2, seed=0
    )
    with pytest.raises(ValueError, match=r"'ortools.cp_sat' takes instances of shape \(7,\)"):
        po.solve(np.ones(5))
    model.add(x[0] + x[1] >= 3)  # cannot hold for two Booleans
    infeasible = CpSatSolver(model=model, variables=x)
    with pytest.raises(StatusError, match=r"'ortools.cp_sat'.*INFEASIBLE.*no feasible solution"):
        infeasible.solve(np.ones(len(WEIGHTS)))
    with pytest.raises(TypeError, match=r"variables\[1\].*integer coefficients"):
        CpSatSolver(model=model, variables=[x[0], 0.5 * x[1]])
    with pytest.raises(TypeError, match=r"variables\[0\] is a str"):
        CpSatSolver(model=model, variables=["x0"])
    with pytest.raises(TypeError, match="must be an ortools.sat.python.cp_model.CpModel"):
        CpSatSolver(model="model", variables=x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="variables is empty"):
        CpSatSolver(model=model, variables=[])


CTRL_C_AFTER_A_SOLVE = """
import os, signal, time
import numpy as np, perturbopt
from ortools.sat.python import cp_model
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
model = cp_model.CpModel()
x = [model.new_bool_var(f"x{i}") for i in range(3)]
model.add(sum(x) <= 1)
solver = perturbopt.get_solver("ortools.cp_sat", model=model, variables=x)
solver.solve(np.array([1.0, 2.0, 0.5]))
try:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(1.0)
except KeyboardInterrupt:
    print("KeyboardInterrupt")
"""


def test_ctrl_c_after_a_solve_still_raises_keyboard_interrupt() -> None:
    # CP-SAT resets SIGINT to "kill the process" after each solve unless told not to
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_AFTER_A_SOLVE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "KeyboardInterrupt"), done.stderr
