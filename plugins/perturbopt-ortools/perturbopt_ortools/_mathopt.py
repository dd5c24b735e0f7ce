"""``ortools.mathopt``: your own MathOpt model (LP or MIP), with ``theta`` as the objective."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.math_opt import model_pb2, parameters_pb2, result_pb2
from ortools.math_opt.core.python import solver as core_solver
from ortools.math_opt.elemental.python import enums
from ortools.math_opt.python import callback, mathopt
from ortools.math_opt.python import result as mathopt_result
from ortools.math_opt.solvers import highs_pb2

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
from ._options import as_object_array, check_threads, check_time_limit

__all__ = ["MathOptSolver"]

NAME = "ortools.mathopt"

HINTED_SOLVERS = frozenset(
    {
        mathopt.SolverType.GSCIP,
        mathopt.SolverType.CP_SAT,
        mathopt.SolverType.HIGHS,
        mathopt.SolverType.GUROBI,
    }
)
"""Solver types that take MIP solution hints (warm starts)."""

LP_ONLY_SOLVERS = frozenset({mathopt.SolverType.GLOP, mathopt.SolverType.PDLP})
"""Solver types that refuse integer variables."""

_QUIET_HIGHS = highs_pb2.HighsOptionsProto(
    bool_options={"output_flag": False, "log_to_console": False}
)
"""HiGHS options that keep it from writing its log to the console."""


@dataclass(frozen=True)
class _Options:
    sense: Sense
    solver_type: mathopt.SolverType
    time_limit: float | None
    threads: int | None
    allow_feasible: bool


class MathOptSolver:
    r"""A MathOpt model whose objective is ``<theta, y>`` for the expressions you pick.

    .. math::

        y^*(\theta) = \operatorname*{argmax}_{x \text{ feasible}} \langle \theta, y(x) \rangle,
        \qquad y(x)_i = \texttt{variables}[i] \text{ evaluated at } x

    (``argmin`` with ``sense="min"``). The model's objective is replaced; its
    constraints are kept. ``theta`` has the shape of ``variables``. The model is copied
    at construction, and solved incrementally: each solve only changes the objective
    coefficients ``A^T theta`` (where ``y = A x + c``), so LP solvers such as GLOP
    restart from the previous basis. Coefficients are real: no rounding.

    Parallel workers rebuild the solver once each from the model's protocol buffer
    (``Model.export_model``); variables are identified by their ids in it.

    Args:
        model: a ``mathopt.Model``.
        variables: a list, nested list or array of its variables or linear expressions.
        sense: ``"max"`` (default) or ``"min"``.
        solver_type: a ``mathopt.SolverType`` or its name: ``"GLOP"`` (default, LP),
            ``"PDLP"`` (LP), ``"HIGHS"``, ``"GSCIP"``, ``"CP_SAT"`` (MIP) are in the pip wheel.
        time_limit: seconds per solve (default: none).
        threads: solver threads, for the solvers that take the parameter (default:
            the solver's own; HiGHS refuses it).
        allow_feasible: accept a feasible, not proven optimal, solution when a limit
            stops the solver; by default any termination but ``OPTIMAL`` raises.

    With ``warm_start=True`` and a MIP solver (HiGHS, SCIP, CP-SAT, Gurobi) the hint
    becomes a solution hint for every variable that an entry of ``y`` is an affine
    function of alone.

    Example:
        >>> import numpy as np, perturbopt
        >>> from ortools.math_opt.python import mathopt
        >>> model = mathopt.Model()
        >>> x = [model.add_variable(lb=0, ub=1) for _ in range(3)]
        >>> _ = model.add_linear_constraint(sum(x) <= 2)
        >>> solver = perturbopt.get_solver("ortools.mathopt", model=model, variables=x)
        >>> solver.solve(np.array([0.5, -1.0, 2.0]))
        array([1., 0., 1.])
    """

    name = NAME

    def __init__(
        self,
        *,
        model: mathopt.Model,
        variables: Any,
        sense: Sense = "max",
        solver_type: str | mathopt.SolverType = "GLOP",
        time_limit: float | None = None,
        threads: int | None = None,
        allow_feasible: bool = False,
    ) -> None:
        if not isinstance(model, mathopt.Model):
            raise TypeError(
                message(
                    NAME,
                    "model must be an ortools.math_opt.python.mathopt."
                    f"Model, got {type(model).__name__}",
                )
            )
        options = _Options(
            check_sense(NAME, sense),
            _solver_type(solver_type),
            check_time_limit(NAME, time_limit),
            check_threads(NAME, "threads", threads),
            check_bool(NAME, "allow_feasible", allow_feasible),
        )
        linear_map = _linear_map(variables, model)
        proto = model.export_model()
        self._setup(
            mathopt.Model.from_model_proto(proto), proto.SerializeToString(), linear_map, options
        )

    def _setup(
        self, model: mathopt.Model, serialized: bytes, linear_map: LinearMap, options: _Options
    ) -> None:
        self._model = model
        self._serialized = serialized
        self._map = linear_map
        self._options = options
        self.sense: Sense = options.sense
        self.shape = linear_map.shape
        if options.solver_type in LP_ONLY_SOLVERS:
            integer = [v.name or f"#{v.id}" for v in model.variables() if v.integer]
            if integer:
                raise ValueError(
                    message(
                        NAME,
                        f"solver_type {options.solver_type.name} solves LPs only, but the "
                        f"model has {len(integer)} integer variable(s) ({integer[0]}, ...); pick a "
                        "MIP solver_type: 'HIGHS', 'GSCIP' or 'CP_SAT'",
                    )
                )
        self._variables = [model.get_variable(int(i)) for i in linear_map.columns]
        model.objective.clear()
        model.objective.is_maximize = options.sense == "max"
        self._keys = linear_map.columns.reshape(-1, 1)
        self._params = mathopt.SolveParameters(
            time_limit=(
                None
                if options.time_limit is None
                else datetime.timedelta(seconds=options.time_limit)
            ),
            threads=options.threads,
            enable_output=False,
            highs=_QUIET_HIGHS,
        )
        self._params_proto = self._params.to_proto()
        self._no_callbacks = callback.CallbackRegistration().to_proto()
        self._no_model_params = mathopt.ModelSolveParameters().to_proto()
        self._start_solver()

    def _start_solver(self) -> None:
        """Start the incremental solver: later solves send only the objective's changes.

        It drives MathOpt's core solver directly, as ``mathopt.IncrementalSolver`` does,
        but reads the answer from the result's protocol buffer: parsing the whole result
        in Python took most of the time of a small LP.
        """
        self._tracker = self._model.add_update_tracker()
        try:
            self._core = core_solver.new(
                self._options.solver_type.value,
                self._model.export_model(),
                parameters_pb2.SolverInitializerProto(),
            )
        except Exception as error:
            raise ValueError(
                message(
                    NAME,
                    f"could not start solver_type "
                    f"{self._options.solver_type.name}: "
                    f"{_message(error)}",
                )
            ) from error

    def _solve_proto(self, model_params: Any) -> result_pb2.SolveResultProto:
        update = self._tracker.export_update()
        if update is not None:
            if not self._core.update(update):  # a change the solver cannot apply in place
                self._start_solver()
            else:
                self._tracker.advance_checkpoint()
        return self._core.solve(
            self._params_proto, model_params, None, self._no_callbacks, None, None
        )

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """The value of ``variables`` at an optimum of ``<theta, y>``, as float64."""
        theta = check_instance(
            NAME, theta, shape=self.shape, what="one coefficient per entry of variables"
        )
        self._model.objective.elemental.set_attrs(
            enums.DoubleAttr1.OBJECTIVE_LINEAR_COEFFICIENT,
            self._keys,
            self._map.objective(theta.ravel()),
        )
        model_params = self._no_model_params
        if hint is not None and self._options.solver_type in HINTED_SOLVERS:
            positions, values = self._map.hint(np.asarray(hint, dtype=np.float64).ravel())
            variables = self._variables
            model_params = mathopt.ModelSolveParameters(
                solution_hints=[
                    mathopt.SolutionHint(
                        variable_values={
                            variables[p]: v
                            for p, v in zip(positions.tolist(), values.tolist(), strict=True)
                        }
                    )
                ]
            ).to_proto()
        try:
            proto = self._solve_proto(model_params)
        except Exception as error:
            self._start_solver()
            raise StatusError(
                NAME, "ERROR", f"{self._options.solver_type.name} failed: {_message(error)}"
            ) from error
        optimal = proto.termination.reason == result_pb2.TERMINATION_REASON_OPTIMAL
        if not optimal:
            result = mathopt_result.parse_solve_result(proto, self._model, validate=False)
            if not (self._options.allow_feasible and result.has_primal_feasible_solution()):
                raise StatusError(NAME, result.termination.reason.name, self._explain(result))
        values = proto.solutions[0].primal_solution.variable_values
        lookup = dict(zip(values.ids, values.values, strict=True))
        x = np.array([lookup.get(v.id, 0.0) for v in self._variables], dtype=np.float64)
        return self._map.evaluate(x)

    def _explain(self, result: mathopt.SolveResult) -> str:
        reason = result.termination.reason
        detail = f" ({result.termination.detail})" if result.termination.detail else ""
        if reason == mathopt.TerminationReason.INFEASIBLE:
            return f"the model has no feasible solution; check its constraints{detail}"
        if reason in (
            mathopt.TerminationReason.UNBOUNDED,
            mathopt.TerminationReason.INFEASIBLE_OR_UNBOUNDED,
        ):
            return (
                "the objective <theta, y> is unbounded over the model (or the model is "
                f"infeasible); bound the variables{detail}"
            )
        if result.has_primal_feasible_solution():
            return (
                "a limit stopped the solver before it proved optimality; raise "
                f"time_limit, or pass allow_feasible=True to accept feasible solutions{detail}"
            )
        return f"no solution{detail}"

    def __reduce__(self) -> tuple[Callable[..., MathOptSolver], tuple[bytes, LinearMap, _Options]]:
        # The model does not pickle: send its protocol buffer, rebuilt once per worker.
        return _restore, (self._serialized, self._map, self._options)

    def __repr__(self) -> str:
        return (
            f"MathOptSolver({self._options.solver_type.name}, {len(self._variables)} "
            f"variables in the objective, shape={self.shape}, sense={self.sense!r})"
        )


def _restore(serialized: bytes, linear_map: LinearMap, options: _Options) -> MathOptSolver:
    """Rebuild a [`MathOptSolver`][perturbopt_ortools._mathopt.MathOptSolver] from its serialised model proto."""
    proto = model_pb2.ModelProto()
    proto.ParseFromString(serialized)
    solver = MathOptSolver.__new__(MathOptSolver)
    solver._setup(mathopt.Model.from_model_proto(proto), serialized, linear_map, options)
    return solver


def _message(error: BaseException) -> str:
    # OR-Tools 9.15 loses the status text while converting it (AttributeError:
    # 'StatusNotOk' has no 'canonical_code'); the original is the exception's context.
    context = error.__context__
    if isinstance(error, AttributeError) and context is not None:
        return str(context)
    return f"{type(error).__name__}: {error}"


def _solver_type(solver_type: Any) -> mathopt.SolverType:
    if isinstance(solver_type, mathopt.SolverType):
        return solver_type
    if isinstance(solver_type, str) and solver_type.upper() in mathopt.SolverType.__members__:
        return mathopt.SolverType[solver_type.upper()]
    known = ", ".join(repr(name) for name in mathopt.SolverType.__members__)
    if not isinstance(solver_type, str):
        raise TypeError(
            message(
                NAME, f"solver_type must be a mathopt.SolverType or its name, got {solver_type!r}"
            )
        )
    raise ValueError(message(NAME, f"unknown solver_type {solver_type!r}; pick one of {known}"))


def _linear_map(variables: Any, model: mathopt.Model) -> LinearMap:
    array = as_object_array(NAME, variables)
    rows: list[tuple[list[int], list[float], float]] = []
    for index, item in enumerate(array.flat):
        where = "variables" + format_index(np.unravel_index(index, array.shape))
        if isinstance(item, (int, float, np.number)) and not isinstance(item, bool):
            rows.append(([], [], float(item)))
            continue
        if not isinstance(item, mathopt.LinearBase):
            raise TypeError(
                message(
                    NAME,
                    f"{where} is a {type(item).__name__}; it must be a "
                    "variable or linear expression of the MathOpt model",
                )
            )
        flat = mathopt.as_flat_linear_expression(item)
        terms = list(flat.terms.items())
        for variable, _ in terms:
            try:
                model.check_compatible(variable)
            except ValueError as error:
                raise ValueError(
                    message(NAME, f"{where} = {item} uses a variable of another model: {error}")
                ) from error
        rows.append(([v.id for v, _ in terms], [c for _, c in terms], flat.offset))
    return LinearMap(rows, array.shape, np.float64)
