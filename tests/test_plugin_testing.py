"""perturbopt.plugin.testing: every check passes a correct solver and fails a solver
that breaks its part of the contract, with a message naming the solver and the check."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import perturbopt
from perturbopt.plugin import testing
from perturbopt.plugin.testing import SolverCase, check_solver, parametrize_with_checks

THETAS = np.random.default_rng(0).normal(size=(3, 5))


class Good:
    """Argmax as a plain solver class (module level: it pickles by reference)."""

    name = "good.argmax"
    sense = "max"

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        y = np.zeros(theta.shape, dtype=np.int8)
        y[np.argmax(theta)] = 1
        return y


class WrongSense(Good):
    sense = "min"


class WritesTheta(Good):
    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        theta[0] = 0.0
        return super().solve(theta)


class Flaky(Good):
    _calls = itertools.count()

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        y = np.zeros(theta.shape, dtype=np.int8)
        y[next(self._calls) % theta.size] = 1
        return y


class WrongShape(Good):
    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        return super().solve(theta)[:-1]


class MixedDtypes(Good):
    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        y = super().solve(theta)
        return y.astype(np.float64) if theta[0] > 0 else y


class BadBatch(Good):
    def solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        return np.zeros(thetas.shape, dtype=np.int8)


class FollowsHint(Good):
    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        return np.array(hint, dtype=np.int8) if hint is not None else super().solve(theta)


def test_a_correct_solver_passes_every_check() -> None:
    check_solver(Good, THETAS)
    check_solver("argmax", THETAS)
    check_solver("topk", THETAS, options={"k": 2})


@pytest.mark.parametrize(
    "factory, check, message",
    [
        (WrongSense, "check_sense", r"is the sense 'min' right\?"),
        (WritesTheta, "check_read_only_inputs", r"it writes into theta"),
        (Flaky, "check_determinism", r"solving it again gives another solution"),
        (WrongShape, "check_shapes_and_dtypes", r"theta has shape \(5,\) but the solution \(4,\)"),
        (MixedDtypes, "check_shapes_and_dtypes", r"several dtypes \['float64', 'int8'\]"),
        (BadBatch, "check_solve_batch", r"solve_batch gives"),
        (FollowsHint, "check_hints", r"a hint may speed a solve up, never change its optimum"),
    ],
)
def test_each_check_fails_the_solver_that_breaks_it(
    factory: type, check: str, message: str
) -> None:
    case = SolverCase(factory, THETAS)
    with pytest.raises(AssertionError, match=rf"solver 'good\.argmax' fails {check}: .*{message}"):
        testing.CHECKS[check](case)
    with pytest.raises(AssertionError, match=check):
        check_solver(factory, THETAS)


def test_a_solver_that_does_not_pickle_fails_check_pickling() -> None:
    testing.check_pickling(SolverCase(Good, THETAS))
    broken = SolverCase(_Unpicklable, THETAS, options={"lock": _Lock()})
    with pytest.raises(AssertionError, match=r"fails check_pickling: neither the factory"):
        testing.check_pickling(broken)


class _Lock:
    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle a lock")


class _Unpicklable(Good):
    def __init__(self, *, lock: _Lock) -> None:
        self.lock = lock

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle this solver")


def test_check_description_asks_for_the_sense_and_every_default() -> None:
    class Plugin:
        @perturbopt.hookimpl
        def register_solvers(self, register: Any) -> None:
            register("vague.topk", perturbopt.get_solver("topk", k=1).__class__, "top k")
            register(
                "clear.topk",
                perturbopt.get_solver("topk", k=1).__class__,
                "top k; sense max; options: k (required)",
            )

    registry = perturbopt.Registry(autoload=False)
    registry.register_plugin(Plugin(), name="descriptions")
    testing.check_description(SolverCase("clear.topk", THETAS, {"k": 2}, registry=registry))
    with pytest.raises(AssertionError, match=r"does not say 'sense max'"):
        testing.check_description(SolverCase("vague.topk", THETAS, {"k": 2}, registry=registry))


def test_every_shipped_description_passes_check_description() -> None:
    for entry in perturbopt.list_solvers():
        text = entry.description
        assert "sense max" in text or "sense min" in text, entry.name


def test_cases_need_two_instances_of_one_shape_and_known_check_names() -> None:
    with pytest.raises(ValueError, match=r"at least two instances of one shape"):
        SolverCase(Good, [np.ones(3)])
    with pytest.raises(ValueError, match=r"no check named \['check_speed'\]"):
        SolverCase(Good, THETAS, skip={"check_speed": "why"})


@parametrize_with_checks(
    [SolverCase("argmax", THETAS), SolverCase(Good, THETAS, skip={"check_timeout": "slow"})]
)
def test_parametrize_with_checks(case: SolverCase, check: Any, request: Any) -> None:
    assert request.node.callspec.id == f"{case.id or case.name}-{check.__name__}"
    check(case)


def test_parametrize_with_checks_yields_one_case_per_check() -> None:
    mark = parametrize_with_checks([SolverCase("argmax", THETAS)])
    ids = [param.id for param in mark.args[1]]
    assert ids == [f"argmax-{name}" for name in testing.CHECKS]
