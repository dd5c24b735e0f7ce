"""scipy.linprog: brute-force vertex enumeration, the softmax closed form on the simplex,
the perturbed mean's feasibility, torch gradients and error messages."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse
from perturbopt_scipy import LinprogSolver

import perturbopt

NAME = "scipy.linprog"


def random_polytope(rng: np.random.Generator, n: int = 3, m: int = 4) -> dict:
    """``{x in [0, 1]^n : A x <= b}`` with ``b > 0`` so that ``x = 0`` is feasible."""
    return {
        "A_ub": rng.normal(size=(m, n)),
        "b_ub": rng.uniform(0.5, 1.5, size=m),
        "bounds": (0, 1),
    }


def brute_force_min(c: np.ndarray, A_ub: np.ndarray, b_ub: np.ndarray) -> np.ndarray:
    """The best vertex of ``{x in [0, 1]^n : A_ub x <= b_ub}``, by enumerating every basis."""
    n = c.shape[0]
    G = np.vstack([A_ub, np.eye(n), -np.eye(n)])
    h = np.concatenate([b_ub, np.ones(n), np.zeros(n)])
    best = None
    for rows in itertools.combinations(range(G.shape[0]), n):
        M = G[list(rows)]
        if abs(np.linalg.det(M)) < 1e-10:
            continue
        x = np.linalg.solve(M, h[list(rows)])
        if np.all(G @ x <= h + 1e-9) and (best is None or c @ x < c @ best):
            best = x
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(8))
def test_matches_vertex_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    options = random_polytope(rng)
    c = rng.normal(size=3)
    x = perturbopt.get_solver(NAME, **options).solve(c)
    expected = brute_force_min(c, options["A_ub"], options["b_ub"])
    np.testing.assert_allclose(x, expected, atol=1e-7)


def test_max_is_min_of_the_negated_objective() -> None:
    rng = np.random.default_rng(1)
    options = random_polytope(rng)
    c = rng.normal(size=3)
    x_max = perturbopt.get_solver(NAME, sense="max", **options).solve(c)
    x_min = perturbopt.get_solver(NAME, **options).solve(-c)
    np.testing.assert_allclose(x_max, x_min, atol=1e-9)
    assert c @ x_max > c @ perturbopt.get_solver(NAME, **options).solve(c)


def test_sparse_matrices_and_box_only_problems() -> None:
    A = scipy.sparse.csr_array(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))
    x = perturbopt.get_solver(NAME, A_ub=A, b_ub=[1.0, 1.0], sense="max").solve(
        np.array([1.0, 3.0, 1.0])
    )
    np.testing.assert_allclose(x, [0.0, 1.0, 0.0], atol=1e-9)
    box = perturbopt.get_solver(NAME, bounds=(-1, 1))
    assert box.shape is None
    np.testing.assert_allclose(box.solve(np.array([2.0, -3.0, 0.5, -1.0])), [-1, 1, -1, 1])


def test_perturbed_mean_on_the_simplex_is_softmax() -> None:
    """argmax over the simplex's vertices with Gumbel noise: y_eps = softmax(theta / eps)."""
    theta = np.array([0.0, 0.5, 1.0, -0.5])
    options = {"A_eq": np.ones((1, 4)), "b_eq": [1.0], "sense": "max"}
    result = perturbopt.perturbed(
        NAME, solver_options=options, epsilon=1.0, num_samples=400, noise="gumbel", seed=0
    ).solve(theta)
    softmax = np.exp(theta) / np.exp(theta).sum()
    assert np.all(np.abs(result.mean - softmax) <= 4 * result.stderr + 1e-12)


def test_perturbed_mean_is_feasible_and_converges() -> None:
    rng = np.random.default_rng(3)
    options = random_polytope(rng)
    theta = rng.normal(size=3)
    hard = perturbopt.get_solver(NAME, **options).solve(theta)
    wide = (
        perturbopt.perturbed(NAME, solver_options=options, epsilon=2.0, num_samples=100, seed=0)
        .solve(theta)
        .mean
    )
    assert np.all(options["A_ub"] @ wide <= options["b_ub"] + 1e-9)
    assert np.all((wide >= -1e-9) & (wide <= 1 + 1e-9))
    assert np.abs(wide - hard).max() > 0.05  # the noise does smooth
    narrow = (
        perturbopt.perturbed(NAME, solver_options=options, epsilon=1e-4, num_samples=20, seed=0)
        .solve(theta)
        .mean
    )
    np.testing.assert_allclose(narrow, hard, atol=1e-7)


def test_parallel_workers_give_the_same_samples() -> None:
    rng = np.random.default_rng(4)
    options = random_polytope(rng, n=6, m=8)
    theta = rng.normal(size=6)
    kwargs = {"solver_options": options, "epsilon": 0.5, "num_samples": 200, "seed": 0}
    serial = perturbopt.perturbed(NAME, n_jobs=1, **kwargs).solve(theta)
    parallel = perturbopt.perturbed(NAME, n_jobs=2, **kwargs).solve(theta)
    np.testing.assert_array_equal(parallel.samples, serial.samples)


def test_torch_gradient_is_the_vjp() -> None:
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("perturbopt.torch")
    rng = np.random.default_rng(5)
    options = random_polytope(rng)
    theta, g = rng.normal(size=3), rng.normal(size=3)
    kwargs = {"epsilon": 0.5, "num_samples": 50, "seed": 0, "solver_options": options}
    layer = tp.PerturbedOptimizer(NAME, **kwargs)
    theta_t = torch.tensor(theta, requires_grad=True)
    y = layer(theta_t)
    (y * torch.tensor(g)).sum().backward()
    expected = perturbopt.perturbed(NAME, **kwargs).solve(theta)
    assert theta_t.grad is not None and theta_t.grad.shape == theta_t.shape
    assert torch.isfinite(theta_t.grad).all()
    np.testing.assert_allclose(y.detach().numpy(), expected.mean)
    np.testing.assert_allclose(theta_t.grad.numpy(), expected.vjp(g))


def test_infeasible_lp_is_a_clear_error() -> None:
    solver = LinprogSolver(A_ub=[[1.0, 1.0]], b_ub=[-1.0])
    with pytest.raises(
        ValueError,
        match=r"solver 'scipy\.linprog': ended with status "
        r"INFEASIBLE: the LP is infeasible \(HiGHS status 2",
    ):
        solver.solve(np.ones(2))
    po = perturbopt.perturbed(
        NAME, solver_options={"A_ub": [[1.0, 1.0]], "b_ub": [-1.0]}, num_samples=3, seed=0
    )
    with pytest.raises(perturbopt.SolverError, match=r"sample 0.*the LP is infeasible"):
        po.solve(np.ones(2))


def test_unbounded_lp_is_a_clear_error() -> None:
    solver = LinprogSolver(A_eq=[[1.0, -1.0]], b_eq=[0.0], sense="max")
    with pytest.raises(
        ValueError,
        match=r"solver 'scipy\.linprog': ended with status "
        r"UNBOUNDED: the LP is unbounded \(HiGHS status 3",
    ):
        solver.solve(np.ones(2))


def test_wrong_theta_shape() -> None:
    options = {"A_ub": np.ones((2, 3)), "b_ub": np.ones(2)}
    with pytest.raises(
        ValueError, match=r"solver 'scipy\.linprog': theta has shape \(4,\).*\(3,\)"
    ):
        LinprogSolver(**options).solve(np.ones(4))
    po = perturbopt.perturbed(NAME, solver_options=options, num_samples=2, seed=0)
    with pytest.raises(ValueError, match=r"'scipy\.linprog' takes instances of shape \(3,\)"):
        po.solve(np.ones(4))


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"b_ub": [1.0]}, ValueError, r"b_ub was given without A_ub"),
        ({"A_ub": [1.0, 2.0], "b_ub": [1.0]}, ValueError, r"A_ub must be a 2-D matrix"),
        ({"A_ub": [["a", "b"]], "b_ub": [1.0]}, TypeError, r"A_ub must be a 2-D numeric matrix"),
        (
            {"A_ub": [[1.0, 2.0]], "b_ub": [1.0, 2.0]},
            ValueError,
            r"b_ub must be a vector of length 1",
        ),
        ({"A_ub": [[1.0, 2.0]], "b_ub": ["one"]}, TypeError, r"b_ub must be a numeric vector"),
        (
            {"A_ub": [[1.0, 2.0]], "b_ub": [1.0], "A_eq": [[1.0, 2.0, 3.0]], "b_eq": [0.0]},
            ValueError,
            r"the options disagree on the number of variables \(A_ub says 2, A_eq says 3\)",
        ),
        (
            {"bounds": [(0, 1), (2, 1)]},
            ValueError,
            r"bounds\[1\] = \(2, 1\) has its lower bound above",
        ),
        ({"bounds": "wide"}, TypeError, r"bounds must be one \(lower, upper\) pair"),
        ({"sense": "maximise"}, ValueError, r"sense must be 'max' or 'min'"),
        ({"options": ["presolve"]}, TypeError, r"options must be a dict"),
    ],
)
def test_bad_options(options: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=r"^solver 'scipy\.linprog': " + message):
        LinprogSolver(**options)
