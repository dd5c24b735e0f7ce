"""A CP-SAT model that a solver builds from its own options, with ``theta`` as the
objective over a list of 0/1 variables (the base of ``ortools.knapsack`` and
``ortools.tsp``)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from perturbopt.plugin import Sense, StatusError, check_instance, message

from ._scaling import integer_costs

__all__ = ["OwnedCpSatModel"]


class OwnedCpSatModel:
    """Solve ``argmax`` (or ``argmin``) ``<theta, y>`` over a CP-SAT model's 0/1 variables.

    A subclass builds the model in its ``__init__`` and calls `_setup`. The
    objective's integer coefficients are ``round(theta / resolution)``; a solve that the
    time limit stops without proof of optimality raises `StatusError`, or with
    ``allow_feasible=True`` returns the best solution found with a ``RuntimeWarning``:
    never a silent suboptimal answer.
    """

    name: str
    releases_gil = True  # CP-SAT solves without the GIL (benchmarks/bench_threads.py)
    sense: Sense
    shape: tuple[int, ...]

    def _setup(
        self,
        model: cp_model.CpModel,
        variables: list[cp_model.IntVar],
        *,
        sense: Sense,
        resolution: float,
        time_limit: float | None,
        num_workers: int | None,
        allow_feasible: bool,
        options: Mapping[str, Any],
        what: str,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.sense = sense
        self.shape = (len(variables),)
        self._resolution = resolution
        self._time_limit = time_limit
        self._allow_feasible = allow_feasible
        self._options = dict(options)  # the constructor's keyword arguments, to pickle
        self._what = what
        self._model = model
        self._indices = np.array([v.index for v in variables], dtype=np.int64)
        proto = model.proto
        proto.objective.vars.extend(self._indices.tolist())
        proto.objective.coeffs.extend([0] * len(variables))
        # CP-SAT minimises sum(coeffs * vars); the reported value is scaling_factor times it.
        proto.objective.scaling_factor = -1.0 if sense == "max" else 1.0
        self._solver = cp_model.CpSolver()
        self._solver.parameters.num_workers = 0 if num_workers is None else num_workers
        # CP-SAT resets Ctrl-C to "kill the process" after each solve unless told not to.
        self._solver.parameters.catch_sigint_signal = False
        if time_limit is not None:
            self._solver.parameters.max_time_in_seconds = time_limit
        for key, value in (parameters or {}).items():
            setattr(self._solver.parameters, key, value)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """The 0/1 optimum ``y*(theta)`` as int8; ``hint`` (a 0/1 ``y``) warm-starts CP-SAT."""
        theta = check_instance(self.name, theta, shape=self.shape, what=self._what)
        coefficients = integer_costs(self.name, theta, self._resolution)
        if self.sense == "max":
            np.negative(coefficients, out=coefficients)
        proto = self._model.proto
        proto.objective.coeffs.clear()
        proto.objective.coeffs.extend(coefficients.tolist())
        proto.clear_solution_hint()
        if hint is not None:
            values = np.rint(np.asarray(hint, dtype=np.float64)).reshape(-1)
            if values.shape == self.shape and np.isin(values, (0.0, 1.0)).all():
                proto.solution_hint.vars.extend(self._indices.tolist())
                proto.solution_hint.values.extend(values.astype(np.int64).tolist())
        status = self._solver.solve(self._model)
        if status == cp_model.FEASIBLE and self._allow_feasible:
            warnings.warn(
                message(
                    self.name,
                    f"the time limit ({self._time_limit} s) stopped the search before it "
                    "proved the solution optimal; returning the best solution found "
                    "(allow_feasible=True)",
                ),
                RuntimeWarning,
                stacklevel=2,
            )
        elif status != cp_model.OPTIMAL:
            raise StatusError(self.name, status.name, self._explain(status.name))
        solution = self._solver.response_proto.solution
        x = np.fromiter(solution, dtype=np.int64, count=len(solution))
        return x[self._indices].astype(np.int8)

    def _explain(self, status: str) -> str:
        limit = self._time_limit
        if status == "FEASIBLE":
            return (
                f"the time limit ({limit} s) stopped the search before it proved the "
                "solution optimal; raise time_limit, or pass allow_feasible=True to accept "
                "the best solution found (with a warning)"
            )
        if status == "UNKNOWN" and limit is not None:
            return f"no solution was found within the time limit ({limit} s); raise time_limit"
        return f"CP-SAT found no solution (status {status})"

    def __reduce__(self) -> tuple[Callable[[], Any], tuple[()]]:
        # Rebuild from the options: the CP-SAT model does not pickle.
        return functools.partial(type(self), **self._options), ()
