"""scipy.milp: brute force over integer points, the perturbed mean in the integer hull,
torch gradients and error messages."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from perturbopt_scipy import HighsStatusError, MilpSolver

import perturbopt

NAME = "scipy.milp"


def knapsack(rng: np.random.Generator, n: int = 6) -> dict:
    return {
        "A_ub": rng.uniform(1, 3, size=(2, n)),
        "b_ub": np.array([4.0, 5.0]),
        "bounds": (0, 1),
        "sense": "max",
    }


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force_knapsack(seed: int) -> None:
    rng = np.random.default_rng(seed)
    options = knapsack(rng)
    values = rng.uniform(1, 5, size=6)
    points = np.array(list(itertools.product((0, 1), repeat=6)), dtype=float)
    feasible = points[np.all(points @ options["A_ub"].T <= options["b_ub"], axis=1)]
    expected = feasible[np.argmax(feasible @ values)]
    np.testing.assert_array_equal(perturbopt.get_solver(NAME, **options).solve(values), expected)


def test_mixed_integrality_rounds_only_the_integer_variables() -> None:
    # max c.x over x0 integer, x1 continuous, x0 + x1 <= 2.5, x0 <= 1.6, x in [0, 2]
    solver = MilpSolver(
        A_ub=[[1.0, 1.0], [1.0, 0.0]],
        b_ub=[2.5, 1.6],
        bounds=(0, 2),
        integrality=[1, 0],
        sense="max",
    )
    np.testing.assert_allclose(solver.solve(np.array([1.0, 3.0])), [0.0, 2.0], atol=1e-9)
    x = solver.solve(np.array([2.0, 1.0]))  # the LP relaxation would take x0 = 1.6
    np.testing.assert_allclose(x, [1.0, 1.5], atol=1e-9)
    assert x[0] == 1.0  # rounded exactly
    as_floats = MilpSolver(
        A_ub=[[1.0, 1.0], [1.0, 0.0]],
        b_ub=[2.5, 1.6],
        bounds=(0, 2),
        integrality=np.array([1.0, 0.0]),
        sense="max",
    )
    np.testing.assert_array_equal(as_floats.solve(np.array([2.0, 1.0])), x)  # as numpy makes them


def test_perturbed_mean_is_in_the_integer_hull_and_converges() -> None:
    rng = np.random.default_rng(7)
    options = knapsack(rng)
    theta = rng.uniform(1, 5, size=6)
    hard = perturbopt.get_solver(NAME, **options).solve(theta)
    wide = perturbopt.perturbed(
        NAME, solver_options=options, epsilon=2.0, num_samples=60, seed=0
    ).solve(theta)
    assert np.all(options["A_ub"] @ wide.mean <= options["b_ub"] + 1e-9)
    assert set(np.unique(wide.samples)) <= {0, 1}
    assert np.abs(wide.mean - hard).max() > 0.1
    narrow = perturbopt.perturbed(
        NAME, solver_options=options, epsilon=1e-4, num_samples=10, seed=0
    ).solve(theta)
    np.testing.assert_array_equal(narrow.mean, hard)


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(8)
    options = knapsack(rng)
    theta, g = rng.uniform(1, 5, size=6), rng.normal(size=6)
    kwargs = {"epsilon": 1.0, "num_samples": 30, "seed": 0, "solver_options": options}
    theta_t = torch.tensor(theta, requires_grad=True)
    y = tp.PerturbedOptimizer(NAME, **kwargs)(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_infeasible_and_unbounded_problems_are_clear_errors() -> None:
    with pytest.raises(
        HighsStatusError,
        match=r"solver 'scipy\.milp': ended with status "
        r"INFEASIBLE: the MILP is infeasible \(HiGHS "
        r"status 2",
    ) as caught:
        MilpSolver(bounds=(0.2, 0.8)).solve(np.ones(2))
    assert isinstance(caught.value, ValueError) and caught.value.status == "INFEASIBLE"
    # HiGHS's MIP solver does not tell an unbounded problem from an infeasible one
    with pytest.raises(
        HighsStatusError,
        match=r"solver 'scipy\.milp': ended with status "
        r"NOT_SOLVED: HiGHS stopped without an optimal "
        r"solution \(HiGHS status 4: .*unbounded or "
        r"infeasible",
    ):
        MilpSolver(sense="max").solve(np.ones(2))


def test_wrong_theta_shape() -> None:
    po = perturbopt.perturbed(
        NAME, solver_options={"integrality": [1, 1, 0]}, num_samples=2, seed=0
    )
    with pytest.raises(ValueError, match=r"'scipy\.milp' takes instances of shape \(3,\)"):
        po.solve(np.ones(2))


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"integrality": [1, 5]}, ValueError, r"integrality must be one code or a vector of codes"),
        ({"integrality": ["integer"]}, TypeError, r"integrality must be one code or a vector"),
        (
            {"integrality": [1, 1], "A_ub": np.ones((1, 3)), "b_ub": [1.0]},
            ValueError,
            r"the options disagree on the number of variables \(integrality says 2, A_ub says 3\)",
        ),
        ({"sense": None}, TypeError, r"sense must be 'max' or 'min'"),
        ({"options": "fast"}, TypeError, r"options must be a dict of milp options"),
    ],
)
def test_bad_options(options: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=r"^solver 'scipy\.milp': " + message):
        MilpSolver(**options)


def test_binary_programmes_return_int8_and_others_float64() -> None:
    binary = MilpSolver(A_ub=[[3.0, 2.0, 2.0]], b_ub=[4.0], bounds=(0, 1), sense="max")
    y = binary.solve(np.array([4.0, 3.0, 3.0]))
    assert y.dtype == np.int8
    np.testing.assert_array_equal(y, [0, 1, 1])
    general = MilpSolver(A_ub=[[3.0, 2.0, 2.0]], b_ub=[4.0], bounds=(0, 2), sense="max")
    assert general.solve(np.array([4.0, 3.0, 3.0])).dtype == np.float64
    mixed = MilpSolver(
        A_ub=[[3.0, 2.0]], b_ub=[4.0], bounds=(0, 1), integrality=[1, 0], sense="max"
    )
    assert mixed.solve(np.array([1.0, 1.0])).dtype == np.float64
