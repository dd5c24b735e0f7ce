"""``ortools.model_builder``: your own ModelBuilder model (LP or MIP), with ``theta`` as
the objective."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from ortools.linear_solver import linear_solver_pb2  # type: ignore[attr-defined]
from ortools.linear_solver.python import model_builder, model_builder_helper

from perturbopt.plugin import (
    Sense,
    StatusError,
    check_bool,
    check_instance,
    check_sense,
    format_index,
    message,
)

from ._linear_map import LinearMap
from ._options import as_object_array, check_time_limit

__all__ = ["ModelBuilderSolver"]

NAME = "ortools.model_builder"

SOLVER_TYPES = ("glop", "pdlp", "scip")
"""The solvers this adapter drives. ModelBuilder's HiGHS prints a banner and crashes on
solution hints, and its CP-SAT stops at once, in OR-Tools 9.15: use ``ortools.mathopt``
or ``ortools.cp_sat`` for those."""

LP_ONLY_SOLVERS = frozenset({"glop", "pdlp"})
"""Solver names that refuse integer variables."""

_STATUS = model_builder_helper.SolveStatus


@dataclass(frozen=True)
class _Options:
    sense: Sense
    solver_type: str
    time_limit: float | None
    allow_feasible: bool


class ModelBuilderSolver:
    r"""A ModelBuilder model whose objective is ``<theta, y>`` for the expressions you pick.

    .. math::

        y^*(\theta) = \operatorname*{argmax}_{x \text{ feasible}} \langle \theta, y(x) \rangle,
        \qquad y(x)_i = \texttt{variables}[i] \text{ evaluated at } x

    (``argmin`` with ``sense="min"``). The model's objective is replaced; its linear
    constraints, bounds and integrality are kept. ``theta`` has the shape of
    ``variables``. The model is copied at construction (later changes to yours do not
    reach the solver); each solve sets the objective coefficients ``A^T theta`` (where
    ``y = A x + c``) and solves the copy from scratch in C++, with the GIL released.
    Coefficients are real: no rounding.

    This is the fastest way to GLOP for small LPs with new costs at every solve: one
    solve of PyEPO's 5 x 5 shortest-path LP takes about 0.085 ms, against 0.09 ms
    through ``pywraplp`` and 0.11 ms through ``ortools.mathopt``, and two threads, each
    with its own instance, run about 1.86 times as fast as one (``releases_gil``).
    ``ortools.mathopt`` remains the choice for MathOpt models and for re-solving LPs
    whose costs change little, from the previous basis.

    Parallel workers rebuild the solver once each from the model's protocol buffer
    (``Model.export_to_proto``); variables are identified by their indices in it.

    Args:
        model: a ``model_builder.Model`` with linear constraints only (no enforced
            constraints).
        variables: a list, nested list or array of its variables or linear expressions.
        sense: ``"max"`` (default) or ``"min"``.
        solver_type: ModelBuilder's solver name: ``"glop"`` (default) or ``"pdlp"`` for
            LPs, ``"scip"`` for MIPs.
        time_limit: seconds per solve (default: none).
        allow_feasible: accept a feasible, not proven optimal, solution when the time
            limit stops the solver; by default any status but ``OPTIMAL`` raises.

    Example:
        >>> import numpy as np, perturbopt
        >>> from ortools.linear_solver.python import model_builder
        >>> model = model_builder.Model()
        >>> x = [model.new_num_var(0.0, 1.0, f"x{i}") for i in range(3)]
        >>> _ = model.add(x[0] + x[1] + x[2] <= 2)
        >>> solver = perturbopt.get_solver("ortools.model_builder", model=model, variables=x)
        >>> solver.solve(np.array([0.5, -1.0, 2.0]))
        array([1., 0., 1.])
    """

    name = NAME
    releases_gil = True  # measured by benchmarks/bench_threads.py

    def __init__(
        self,
        *,
        model: model_builder.Model,
        variables: Any,
        sense: Sense = "max",
        solver_type: str = "glop",
        time_limit: float | None = None,
        allow_feasible: bool = False,
    ) -> None:
        if not isinstance(model, model_builder.Model):
            raise TypeError(
                message(
                    NAME,
                    "model must be an ortools.linear_solver.python."
                    f"model_builder.Model, got {type(model).__name__}",
                )
            )
        options = _Options(
            check_sense(NAME, sense),
            _solver_type(solver_type),
            check_time_limit(NAME, time_limit),
            check_bool(NAME, "allow_feasible", allow_feasible),
        )
        linear_map = _linear_map(variables, model.num_variables)
        self._setup(model.export_to_proto().SerializeToString(), linear_map, options)

    def _setup(self, serialized: bytes, linear_map: LinearMap, options: _Options) -> None:
        self._serialized = serialized
        self._map = linear_map
        self._options = options
        self.sense: Sense = options.sense
        self.shape = linear_map.shape
        self._helper, integer = _helper_from_proto(serialized, options.sense)
        if options.solver_type in LP_ONLY_SOLVERS and integer.size:
            raise ValueError(
                message(
                    NAME,
                    f"solver_type {options.solver_type!r} solves LPs only, but the model has "
                    f"{integer.size} integer variable(s) (index {integer[0]}, ...); pick "
                    "solver_type='scip'",
                )
            )
        self._columns = linear_map.columns.tolist()
        self._hinted = options.solver_type not in LP_ONLY_SOLVERS
        self._solver = model_builder_helper.ModelSolverHelper(options.solver_type)
        if options.time_limit is not None:
            self._solver.set_time_limit_in_seconds(options.time_limit)

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """The value of ``variables`` at an optimum of ``<theta, y>``, as float64."""
        theta = check_instance(
            NAME, theta, shape=self.shape, what="one coefficient per entry of variables"
        )
        self._helper.set_objective_coefficients(
            self._columns, self._map.objective(theta.ravel()).tolist()
        )
        if self._hinted:
            self._helper.clear_hints()
            if hint is not None:
                positions, values = self._map.hint(np.asarray(hint, dtype=np.float64).ravel())
                for position, value in zip(positions.tolist(), values.tolist(), strict=True):
                    self._helper.add_hint(self._columns[position], value)
        self._solver.solve(self._helper)
        status = self._solver.status()
        if not (
            status == _STATUS.OPTIMAL
            or (status == _STATUS.FEASIBLE and self._options.allow_feasible)
        ):
            raise StatusError(NAME, status.name, self._explain(status))
        return self._map.evaluate(self._solver.variable_values()[self._map.columns])

    def _explain(self, status: Any) -> str:
        if status == _STATUS.INFEASIBLE:
            return (
                "the model has no feasible solution, or the objective <theta, y> is "
                "unbounded over it (ModelBuilder reports both as INFEASIBLE); check its "
                "constraints and bound the variables"
            )
        if status == _STATUS.UNBOUNDED:
            return "the objective <theta, y> is unbounded over the model; bound the variables"
        if status == _STATUS.FEASIBLE:
            return (
                f"the time limit ({self._options.time_limit} s) stopped the solver before "
                "it proved optimality; raise time_limit, or pass allow_feasible=True to "
                "accept feasible solutions"
            )
        return f"{self._options.solver_type} failed: {self._solver.status_string()}"

    def __reduce__(
        self,
    ) -> tuple[Callable[..., ModelBuilderSolver], tuple[bytes, LinearMap, _Options]]:
        # The model does not pickle: send its protocol buffer, rebuilt once per worker.
        return _restore, (self._serialized, self._map, self._options)

    def __repr__(self) -> str:
        return (
            f"ModelBuilderSolver({self._options.solver_type!r}, {len(self._columns)} "
            f"variables in the objective, shape={self.shape}, sense={self.sense!r})"
        )


def _restore(serialized: bytes, linear_map: LinearMap, options: _Options) -> ModelBuilderSolver:
    """Rebuild a [`ModelBuilderSolver`][perturbopt_ortools._model_builder.ModelBuilderSolver] from its serialised model proto."""
    solver = ModelBuilderSolver.__new__(ModelBuilderSolver)
    solver._setup(serialized, linear_map, options)
    return solver


def _helper_from_proto(
    serialized: bytes, sense: Sense
) -> tuple[model_builder_helper.ModelBuilderHelper, np.ndarray]:
    """A fresh model with the proto's variables and linear constraints, a zero objective,
    and the indices of its integer variables."""
    proto = linear_solver_pb2.MPModelProto()
    proto.ParseFromString(serialized)
    if len(proto.general_constraint) or proto.HasField("quadratic_objective"):
        raise ValueError(
            message(
                NAME,
                "the model has enforced (indicator) constraints or a "
                "quadratic objective; this solver takes linear "
                "constraints only",
            )
        )
    variables = proto.variable
    rows = proto.constraint
    matrix = scipy.sparse.csr_matrix(
        (
            np.array([c for row in rows for c in row.coefficient], dtype=np.float64),
            np.array([i for row in rows for i in row.var_index], dtype=np.int64),
            np.concatenate([[0], np.cumsum([len(row.var_index) for row in rows])]),
        ),
        shape=(len(rows), len(variables)),
    )
    # Typed Any: OR-Tools' stub gives these parameters an invalid numpy type.
    data: list[Any] = [
        np.array([v.lower_bound for v in variables], dtype=np.float64),
        np.array([v.upper_bound for v in variables], dtype=np.float64),
        np.zeros(len(variables)),
        np.array([row.lower_bound for row in rows], dtype=np.float64),
        np.array([row.upper_bound for row in rows], dtype=np.float64),
        matrix,
    ]
    helper = model_builder_helper.ModelBuilderHelper()
    helper.fill_model_from_sparse_data(*data)
    integer = np.array([i for i, v in enumerate(variables) if v.is_integer], dtype=np.int64)
    for index in integer.tolist():
        helper.set_var_integrality(index, True)
    helper.set_maximize(sense == "max")
    return helper, integer


def _solver_type(solver_type: Any) -> str:
    if not isinstance(solver_type, str):
        raise TypeError(
            message(NAME, f"solver_type must be a solver name such as 'glop', got {solver_type!r}")
        )
    name = solver_type.lower()
    if name not in SOLVER_TYPES:
        raise ValueError(
            message(
                NAME,
                f"unknown solver_type {solver_type!r}; pick one of "
                f"{', '.join(map(repr, SOLVER_TYPES))} (for HiGHS or "
                "CP-SAT, use ortools.mathopt or ortools.cp_sat)",
            )
        )
    return name


def _linear_map(variables: Any, num_variables: int) -> LinearMap:
    array = as_object_array(NAME, variables)
    rows: list[tuple[list[int], list[float], float]] = []
    for index, item in enumerate(array.flat):
        where = "variables" + format_index(np.unravel_index(index, array.shape))
        if isinstance(item, (int, float, np.number)) and not isinstance(item, bool):
            if not math.isfinite(float(item)):
                raise ValueError(message(NAME, f"{where} = {item} is not finite"))
            rows.append(([], [], float(item)))
            continue
        if not isinstance(item, model_builder_helper.LinearExpr):
            raise TypeError(
                message(
                    NAME,
                    f"{where} is a {type(item).__name__}; it must be a "
                    "variable or linear expression of the model",
                )
            )
        flat = model_builder_helper.FlatExpr(item)
        indices = [variable.index for variable in flat.vars]
        if any(not 0 <= i < num_variables for i in indices):
            raise ValueError(
                message(
                    NAME,
                    f"{where} = {item} uses a variable that is not in "
                    f"the model (it has {num_variables} variables)",
                )
            )
        rows.append((indices, list(flat.coeffs), float(flat.offset)))
    return LinearMap(rows, array.shape, np.float64)
