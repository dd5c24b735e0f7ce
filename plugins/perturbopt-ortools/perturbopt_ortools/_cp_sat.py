"""``ortools.cp_sat``: your own CP-SAT model, with ``theta`` as the objective."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model, cp_model_helper

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
from ._scaling import DEFAULT_RESOLUTION, check_resolution, integer_costs

__all__ = ["CpSatSolver"]

NAME = "ortools.cp_sat"


@dataclass(frozen=True)
class _Options:
    sense: Sense
    resolution: float
    time_limit: float | None
    num_workers: int
    allow_feasible: bool


class CpSatSolver:
    r"""A CP-SAT model whose objective is ``<theta, y>`` for the expressions you pick.

    .. math::

        y^*(\theta) = \operatorname*{argmax}_{x \text{ feasible}} \langle \theta, y(x) \rangle,
        \qquad y(x)_i = \texttt{variables}[i] \text{ evaluated at } x

    (``argmin`` with ``sense="min"``). The model's own objective is replaced; its
    constraints are kept. ``theta`` has the shape of ``variables``. The model is copied
    at construction: later changes to yours do not reach the solver.

    CP-SAT's objective coefficients are integers: each solve sets the coefficients to
    ``A^T round(theta / resolution)``, where ``y = A x + c``, so the answer is optimal
    for the real ``theta`` up to ``resolution * ||y||_1``.

    Parallel workers rebuild the solver once each from the model's protocol buffer
    (in text format: OR-Tools 9.15's pybind11 protos have no binary serialisation);
    variables are identified by their indices in it.

    Args:
        model: a ``cp_model.CpModel``.
        variables: a list, nested list or array of its variables, negated Booleans
            (``~x``) or linear expressions with integer coefficients.
        sense: ``"max"`` (default) or ``"min"``.
        resolution: the real value of one unit of the integer objective (default ``1e-6``).
        time_limit: seconds per solve (default: none).
        num_workers: CP-SAT search threads per solve (default 1: the perturbation
            engine parallelises over samples, and one thread keeps CP-SAT deterministic;
            ``None``: CP-SAT's default, all cores).
        allow_feasible: accept a ``FEASIBLE`` (not proven optimal) solution when the time
            limit stops the search; by default any status but ``OPTIMAL`` raises.

    With ``warm_start=True`` the hint becomes CP-SAT's solution hint: every variable
    that an entry of ``y`` is an affine function of alone gets the value it implies.

    Example:
        >>> import numpy as np, perturbopt
        >>> from ortools.sat.python import cp_model
        >>> model = cp_model.CpModel()
        >>> x = [model.new_bool_var(f"x{i}") for i in range(3)]
        >>> _ = model.add(sum(x) <= 2)
        >>> solver = perturbopt.get_solver("ortools.cp_sat", model=model, variables=x)
        >>> solver.solve(np.array([0.5, -1.0, 2.0]))  # 0/1 entries: int8
        array([1, 0, 1], dtype=int8)
    """

    name = NAME
    releases_gil = True  # measured by benchmarks/bench_threads.py

    def __init__(
        self,
        *,
        model: cp_model.CpModel,
        variables: Any,
        sense: Sense = "max",
        resolution: float = DEFAULT_RESOLUTION,
        time_limit: float | None = None,
        num_workers: int = 1,
        allow_feasible: bool = False,
    ) -> None:
        if not isinstance(model, cp_model.CpModel):
            raise TypeError(
                message(
                    NAME,
                    "model must be an ortools.sat.python.cp_model.CpModel, "
                    f"got {type(model).__name__}",
                )
            )
        workers = check_threads(NAME, "num_workers", num_workers)
        options = _Options(
            check_sense(NAME, sense),
            check_resolution(NAME, resolution),
            check_time_limit(NAME, time_limit),
            0 if workers is None else workers,
            check_bool(NAME, "allow_feasible", allow_feasible),
        )
        linear_map = _linear_map(variables, len(model.proto.variables))
        copy = cp_model.CpModel()
        copy.proto.copy_from(model.proto)
        self._setup(copy, linear_map, options)

    def _setup(self, model: cp_model.CpModel, linear_map: LinearMap, options: _Options) -> None:
        self._model = model
        self._map = linear_map
        self._options = options
        self.sense: Sense = options.sense
        self.shape = linear_map.shape
        proto = model.proto
        self._dtype = np.int8 if _binary(linear_map, proto) else np.int64
        proto.clear_objective()
        proto.clear_floating_point_objective()
        proto.clear_solution_hint()
        proto.objective.vars.extend(linear_map.columns.tolist())
        proto.objective.coeffs.extend([0] * linear_map.columns.size)
        # CP-SAT minimises scaling_factor * (sum coeffs * vars): maximise with -theta, -1.
        proto.objective.scaling_factor = -1.0 if options.sense == "max" else 1.0
        self._solver = cp_model.CpSolver()
        self._solver.parameters.num_workers = options.num_workers
        # CP-SAT's own Ctrl-C handler is reset to the default (kill the process) after
        # every solve; the engine turns a Ctrl-C into KeyboardInterrupt instead.
        self._solver.parameters.catch_sigint_signal = False
        if options.time_limit is not None:
            self._solver.parameters.max_time_in_seconds = options.time_limit
        self._text: str | None = None

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """The value of ``variables`` at an optimum of ``<theta, y>``: int8 when every
        entry can only be 0 or 1, else int64."""
        theta = check_instance(
            NAME, theta, shape=self.shape, what="one coefficient per entry of variables"
        )
        coefficients = self._map.objective(
            integer_costs(NAME, theta.ravel(), self._options.resolution)
        )
        if self.sense == "max":
            np.negative(coefficients, out=coefficients)
        proto = self._model.proto
        proto.objective.coeffs.clear()
        proto.objective.coeffs.extend(coefficients.tolist())
        proto.clear_solution_hint()
        if hint is not None:
            positions, values = self._map.hint(np.asarray(hint, dtype=np.float64).ravel())
            proto.solution_hint.vars.extend(self._map.columns[positions].tolist())
            proto.solution_hint.values.extend(np.rint(values).astype(np.int64).tolist())
        status = self._solver.solve(self._model)
        if not (
            status == cp_model.OPTIMAL
            or (status == cp_model.FEASIBLE and self._options.allow_feasible)
        ):
            raise StatusError(NAME, status.name, self._explain(status.name))
        solution = self._solver.response_proto.solution
        x = np.fromiter(solution, dtype=np.int64, count=len(solution))[self._map.columns]
        return self._map.evaluate(x).astype(self._dtype, copy=False)

    def _explain(self, status: str) -> str:
        if status == "INFEASIBLE":
            return "the model has no feasible solution; check its constraints"
        if status == "MODEL_INVALID":
            problem = cp_model_helper.CpSatHelper.validate_model(self._model.proto)
            return f"the model is invalid: {problem}"
        limit = self._options.time_limit
        if status == "FEASIBLE":
            return (
                f"the time limit ({limit} s) stopped the search before it proved the "
                "solution optimal; raise time_limit, or pass allow_feasible=True to accept "
                "feasible solutions"
            )
        return (
            f"no solution was found within the time limit ({limit} s); raise time_limit"
            if limit is not None
            else "CP-SAT found no solution"
        )

    def __reduce__(self) -> tuple[Callable[..., CpSatSolver], tuple[str, LinearMap, _Options]]:
        # The model does not pickle: send its proto as text, rebuilt once per worker.
        if self._text is None:
            snapshot = cp_model_helper.CpModelProto()
            snapshot.copy_from(self._model.proto)
            snapshot.clear_objective()
            snapshot.clear_solution_hint()
            self._text = str(snapshot)
        return _restore, (self._text, self._map, self._options)

    def __repr__(self) -> str:
        return (
            f"CpSatSolver({len(self._model.proto.variables)} variables, "
            f"{len(self._model.proto.constraints)} constraints, shape={self.shape}, "
            f"sense={self.sense!r})"
        )


def _restore(text: str, linear_map: LinearMap, options: _Options) -> CpSatSolver:
    """Rebuild a [`CpSatSolver`][perturbopt_ortools._cp_sat.CpSatSolver] from its model proto in text format."""
    model = cp_model.CpModel()
    if not model.proto.parse_text_format(text):
        raise ValueError(message(NAME, "could not parse the model sent to this worker"))
    solver = CpSatSolver.__new__(CpSatSolver)
    solver._setup(model, linear_map, options)
    solver._text = text
    return solver


def _linear_map(variables: Any, num_variables: int) -> LinearMap:
    array = as_object_array(NAME, variables)
    rows: list[tuple[list[int], list[int], int]] = []
    for index, item in enumerate(array.flat):
        where = "variables" + format_index(np.unravel_index(index, array.shape))
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            rows.append(([], [], int(item)))
            continue
        if not isinstance(item, cp_model_helper.LinearExpr):
            raise TypeError(
                message(
                    NAME,
                    f"{where} is a {type(item).__name__}; it must be a "
                    "variable or linear expression of the CP-SAT model",
                )
            )
        try:
            flat = cp_model_helper.FlatIntExpr(item)
        except TypeError as error:
            raise TypeError(
                message(NAME, f"{where} = {item} must have integer coefficients: {error}")
            ) from error
        indices = [variable.index for variable in flat.vars]
        if any(not 0 <= i < num_variables for i in indices):
            raise ValueError(
                message(
                    NAME,
                    f"{where} = {item} uses a variable that is not in "
                    f"the model (it has {num_variables} variables)",
                )
            )
        rows.append((indices, list(flat.coeffs), int(flat.offset)))
    return LinearMap(rows, array.shape, np.int64)


def _binary(linear_map: LinearMap, proto: Any) -> bool:
    """Whether every entry of ``y = A x + c`` lies in ``{0, 1}`` over the variables'
    domains (then ``y`` is returned as int8)."""
    domains = [proto.variables[int(i)].domain for i in linear_map.columns]
    lower = np.array([d[0] for d in domains], dtype=np.float64)
    upper = np.array([d[len(d) - 1] for d in domains], dtype=np.float64)  # no d[-1] here
    matrix = linear_map.matrix
    positive, negative = matrix.maximum(0), matrix.minimum(0)
    low = positive @ lower + negative @ upper + linear_map.offset
    high = positive @ upper + negative @ lower + linear_map.offset
    return bool(np.all(low >= 0) and np.all(high <= 1))
