"""The built-in vectorised solvers against brute force over their feasible sets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import perturbopt


def _brute_force(theta: np.ndarray, feasible: list[np.ndarray]) -> np.ndarray:
    return feasible[int(np.argmax([y @ theta for y in feasible]))]


def _feasible_sets(d: int, k: int) -> dict[str, list[np.ndarray]]:
    return {
        "argmax": list(np.eye(d)),
        "topk": [
            np.isin(np.arange(d), c).astype(float) for c in itertools.combinations(range(d), k)
        ],
        "ranking": [np.array(p, dtype=float) for p in itertools.permutations(range(1, d + 1))],
        "sign": [np.array(s, dtype=float) for s in itertools.product([-1, 1], repeat=d)],
    }


@pytest.mark.parametrize("name", ["argmax", "topk", "ranking", "sign"])
def test_matches_brute_force(name: str) -> None:
    d, k = 6, 3
    solver = perturbopt.get_solver(name, **({"k": k} if name == "topk" else {}))
    feasible = _feasible_sets(d, k)[name]
    thetas = np.random.default_rng(0).normal(size=(50, d))
    batch = solver.solve_batch(thetas)
    for theta, y in zip(thetas, batch, strict=True):
        np.testing.assert_array_equal(y, _brute_force(theta, feasible))
        np.testing.assert_array_equal(solver.solve(theta), y)


@pytest.mark.parametrize("name", ["argmax", "topk", "ranking", "sign"])
def test_solve_batch_handles_any_leading_axes_and_small_types(name: str) -> None:
    solver = perturbopt.get_solver(name, **({"k": 2} if name == "topk" else {}))
    thetas = np.random.default_rng(1).normal(size=(4, 3, 5))
    out = solver.solve_batch(thetas)
    assert out.shape == thetas.shape and out.dtype == np.int8
    np.testing.assert_array_equal(out.reshape(12, 5), solver.solve_batch(thetas.reshape(12, 5)))


def test_ties_are_broken_by_index() -> None:
    theta = np.array([1.0, 3.0, 3.0, 0.0])
    np.testing.assert_array_equal(perturbopt.get_solver("argmax").solve(theta), [0, 1, 0, 0])
    np.testing.assert_array_equal(perturbopt.get_solver("topk", k=1).solve(theta), [0, 1, 0, 0])
    np.testing.assert_array_equal(perturbopt.get_solver("ranking").solve(theta), [2, 3, 4, 1])
    np.testing.assert_array_equal(
        perturbopt.get_solver("sign").solve(np.array([0.0, -0.0])), [1, 1]
    )


def test_ranking_uses_a_wider_type_for_long_vectors() -> None:
    ranks = perturbopt.get_solver("ranking").solve(np.arange(300.0)[::-1])
    assert ranks.dtype == np.int32
    np.testing.assert_array_equal(ranks, np.arange(300, 0, -1))


def test_topk_refuses_k_larger_than_d() -> None:
    with pytest.raises(ValueError, match="k=4 cannot select from d=3"):
        perturbopt.get_solver("topk", k=4).solve(np.zeros(3))
    np.testing.assert_array_equal(perturbopt.get_solver("topk", k=3).solve(np.zeros(3)), 1)


def test_ranking_mean_lies_in_the_permutahedron() -> None:
    theta = np.random.default_rng(2).normal(size=6)
    mean = perturbopt.perturbed("ranking", epsilon=0.5, num_samples=500, seed=0)(theta)
    # Rado's theorem: the k smallest entries sum to at least 1 + ... + k, all sum to 21.
    assert mean.sum() == pytest.approx(21.0)
    partial = np.cumsum(np.sort(mean))
    assert np.all(partial >= np.cumsum(np.arange(1, 7)) - 1e-9)


def test_function_solvers() -> None:
    sign = perturbopt.as_solver(np.sign, name="np.sign")
    assert sign.solve(np.array([-1.0, 2.0])).tolist() == [-1.0, 1.0]
    assert not hasattr(sign, "solve_batch")
    batched = perturbopt.as_solver(lambda t: np.sign(t), batched=True)
    assert batched.solve_batch(np.array([[-1.0], [3.0]])).tolist() == [[-1.0], [1.0]]
    assert batched.solve(np.array([-2.0])).tolist() == [-1.0]
    grid = perturbopt.perturbed(
        lambda t: (t == t.max()).astype(float), ndim=2, num_samples=4, seed=0
    )
    assert grid(np.zeros((2, 3, 3))).shape == (2, 3, 3)


@pytest.mark.parametrize("name", ["topk", "ranking"])
def test_fast_paths_break_ties_by_index_in_mixed_batches(name: str) -> None:
    """Rows with ties take the stable path, the others the fast one; both agree with a
    stable sort, row by row."""
    rng = np.random.default_rng(3)
    tied_rows = rng.integers(0, 4, size=(100, 9)).astype(float)
    distinct_rows = rng.normal(size=(100, 9))
    thetas = np.concatenate([tied_rows, distinct_rows])[rng.permutation(200)]
    solver = perturbopt.get_solver(name, **({"k": 4} if name == "topk" else {}))
    for theta, y in zip(thetas, solver.solve_batch(thetas), strict=True):
        if name == "topk":
            expected = np.isin(np.arange(9), np.argsort(-theta, kind="stable")[:4])
        else:
            expected = np.empty(9)
            expected[np.argsort(theta, kind="stable")] = np.arange(1, 10)
        np.testing.assert_array_equal(y, expected)
