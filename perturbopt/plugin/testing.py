"""A test kit for plugin authors: check a solver against the solver contract.

scikit-learn's ``parametrize_with_checks`` is the model. Give the kit a solver (a
registered name, or a factory with its options) and a few instances ``theta`` of one
shape; each check then builds the solver, solves the instances and asserts one part of
the contract that the engine relies on:

| check | what it asserts |
|---|---|
| `check_description` | the registered description states the sense and every option with its default (`perturbopt solvers` prints it) |
| `check_sense` | `sense` is `"max"` or `"min"`, and each solution is at least as good for its own instance as the other instances' solutions (a wrong sense fails this) |
| `check_shapes_and_dtypes` | `solve` returns a finite numeric array of `theta`'s shape, of one dtype for every instance |
| `check_read_only_inputs` | read-only `theta` and `hint` work and are not written to |
| `check_determinism` | the same instance gives the same solution, twice and on a fresh solver |
| `check_solve_batch` | `solve_batch` (if any) equals `solve` row by row |
| `check_hints` | a hint never changes the optimal value |
| `check_pickling` | the factory and options pickle and rebuild the same solver |
| `check_n_jobs` | `perturbed(..., n_jobs=2)` gives the samples of `n_jobs=1` |
| `check_timeout` | `timeout=` (solves in worker processes) gives the same samples |

Each check raises ``AssertionError`` with a message that names the solver, the check
and the instance. Use [check_solver][perturbopt.plugin.testing.check_solver] for one
call that runs them all, or
[parametrize_with_checks][perturbopt.plugin.testing.parametrize_with_checks] for one
pytest case per check.

Example:
    >>> import numpy as np
    >>> from perturbopt.plugin.testing import check_solver
    >>> check_solver("topk", np.random.default_rng(0).normal(size=(3, 5)),
    ...              options={"k": 2}, skip={"check_timeout": "fast enough"})
"""

from __future__ import annotations

import functools
import inspect
import pickle
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

try:  # joblib >= 1.6 depends on cloudpickle; older releases vendor it
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle  # type: ignore[no-redef]

from .._factory_options import option_texts
from .._registry import Registry

__all__ = [
    "CHECKS",
    "SolverCase",
    "check_description",
    "check_determinism",
    "check_hints",
    "check_n_jobs",
    "check_pickling",
    "check_read_only_inputs",
    "check_sense",
    "check_shapes_and_dtypes",
    "check_solve_batch",
    "check_solver",
    "check_timeout",
    "parametrize_with_checks",
]


@dataclass(frozen=True)
class SolverCase:
    """One solver, its options and the instances to check it on.

    Args:
        solver: a registered name (``"scipy.assignment"``) or a factory (the class).
        instances: at least two instances ``theta`` of one shape, as a sequence or a
            stacked array. Random continuous values avoid ties, which the checks of
            optimality and determinism tolerate but cannot see through.
        options: the solver's options.
        skip: checks to leave out, by name, each with the reason (reported by pytest).
        registry: where to look the name up (default: the installed plugins).
        id: the name of the case in pytest's ids (default: the solver's name).
    """

    solver: str | Callable[..., Any]
    instances: Any
    options: Mapping[str, Any] = field(default_factory=dict)
    skip: Mapping[str, str] = field(default_factory=dict)
    registry: Registry | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        thetas = [np.asarray(theta, dtype=np.float64) for theta in self.instances]
        if len(thetas) < 2 or len({theta.shape for theta in thetas}) != 1:
            raise ValueError(
                f"SolverCase({self.name!r}) needs at least two instances of one shape, got "
                f"shapes {[theta.shape for theta in thetas]}"
            )
        object.__setattr__(self, "instances", np.stack(thetas))
        unknown = set(self.skip) - set(CHECKS)
        if unknown:
            raise ValueError(
                f"SolverCase({self.name!r}): no check named {sorted(unknown)}; the checks "
                f"are {', '.join(CHECKS)}"
            )

    @property
    def name(self) -> str:
        """The registered name, or the factory's name."""
        if isinstance(self.solver, str):
            return self.solver
        return str(getattr(self.solver, "name", getattr(self.solver, "__name__", "solver")))

    @property
    def factory(self) -> Callable[..., Any]:
        """The factory: the registered one for a name."""
        if isinstance(self.solver, str):
            return (self.registry or Registry.default()).solver_entry(self.solver).factory
        return self.solver

    def build(self) -> Any:
        """A new solver instance."""
        return self.factory(**self.options)

    def perturbed(self, **options: Any) -> Any:
        """``perturbopt.perturbed`` over this solver (by name when registered)."""
        from .._perturbed import perturbed

        if isinstance(self.solver, str):
            return perturbed(
                self.solver,
                solver_options=dict(self.options),
                registry=self.registry,
                **options,
            )
        return perturbed(self.build(), **options)


def _fail(case: SolverCase, check: str, text: str) -> AssertionError:
    return AssertionError(f"solver {case.name!r} fails {check}: {text}")


def _read_only(array: np.ndarray) -> np.ndarray:
    copy = np.array(array)
    copy.setflags(write=False)
    return copy


def _solutions(case: SolverCase, solver: Any) -> list[np.ndarray]:
    return [np.asarray(solver.solve(_read_only(theta))) for theta in case.instances]


def _value(y: np.ndarray, theta: np.ndarray) -> float:
    return float(np.sum(y.astype(np.float64) * theta))


def _tolerance(theta: np.ndarray) -> float:
    # Solvers that scale costs to integers (OR-Tools) are optimal up to ~1e-6 per entry.
    return 1e-6 * theta.size * (1.0 + float(np.max(np.abs(theta))))


# --- the checks ---------------------------------------------------------------------


def check_description(case: SolverCase) -> None:
    """The registered description states the sense and every option with its default,
    as ``sense max`` / ``sense min`` and ``options: k (required), ...``."""
    if not isinstance(case.solver, str):
        return
    entry = (case.registry or Registry.default()).solver_entry(case.solver)
    text = entry.description
    try:
        default = inspect.signature(entry.factory).parameters["sense"].default
    except (KeyError, TypeError, ValueError):
        default = inspect.Parameter.empty
    sense = case.build().sense if default is inspect.Parameter.empty else default
    if f"sense {sense}" not in text:
        raise _fail(
            case,
            "check_description",
            f"the description {text!r} does not say 'sense {sense}' (the solver's sense, "
            "or the default of its option sense)",
        )
    for option in option_texts(entry.factory) or []:
        if option not in text:
            raise _fail(
                case,
                "check_description",
                f"the description {text!r} does not state the option {option!r}; end it "
                "with 'options: ' and each option as 'name=default' or 'name (required)'",
            )


def check_sense(case: SolverCase) -> None:
    """``sense`` is ``"max"`` or ``"min"``, and ``y*(theta_i)`` is at least as good for
    ``theta_i`` as every other instance's solution."""
    solver = case.build()
    sense = getattr(solver, "sense", None)
    if sense not in ("max", "min"):
        raise _fail(case, "check_sense", f"sense must be 'max' or 'min', got {sense!r}")
    ys = _solutions(case, solver)
    sign = 1.0 if sense == "max" else -1.0
    for i, theta in enumerate(case.instances):
        own = sign * _value(ys[i], theta)
        for j, other in enumerate(ys):
            better = sign * _value(other, theta)
            if better > own + _tolerance(theta):
                raise _fail(
                    case,
                    "check_sense",
                    f"for instance {i}, the solution of instance {j} has a "
                    f"{'higher' if sense == 'max' else 'lower'} value <y, theta> "
                    f"({sign * better:.6g}) than the solver's own ({sign * own:.6g}): is the "
                    f"sense {sense!r} right?",
                )


def check_shapes_and_dtypes(case: SolverCase) -> None:
    """``solve`` returns a finite numeric array of ``theta``'s shape, one dtype for all."""
    solver = case.build()
    dtypes = set()
    for i, y in enumerate(_solutions(case, solver)):
        theta = case.instances[i]
        if y.shape != theta.shape:
            raise _fail(
                case,
                "check_shapes_and_dtypes",
                f"instance {i}: theta has shape {theta.shape} but the solution {y.shape}",
            )
        if y.dtype.kind not in "biuf" or not np.all(np.isfinite(y)):
            raise _fail(
                case,
                "check_shapes_and_dtypes",
                f"instance {i}: the solution must be a finite bool, integer or float "
                f"array, got dtype {y.dtype}",
            )
        dtypes.add(y.dtype)
    if len(dtypes) > 1:
        raise _fail(
            case,
            "check_shapes_and_dtypes",
            f"the solutions have several dtypes {sorted(map(str, dtypes))}; return one "
            "(int8 for 0/1 solutions)",
        )


def check_read_only_inputs(case: SolverCase) -> None:
    """Read-only ``theta`` and ``hint`` (the engine passes them) work, unchanged."""
    solver = case.build()
    for i, theta in enumerate(case.instances):
        expected = np.asarray(solver.solve(np.array(theta)))
        frozen = _read_only(theta)
        try:
            y = np.asarray(solver.solve(frozen, hint=_read_only(expected)))
        except ValueError as error:
            if "read-only" not in str(error):
                raise
            raise _fail(
                case, "check_read_only_inputs", f"instance {i}: it writes into theta: {error}"
            ) from error
        if not np.array_equal(frozen, theta) or not np.array_equal(y, expected):
            raise _fail(
                case,
                "check_read_only_inputs",
                f"instance {i}: a read-only theta and hint give another solution",
            )


def check_determinism(case: SolverCase) -> None:
    """The same instance gives the same solution, twice and on a fresh solver."""
    first = case.build()
    once, twice = _solutions(case, first), _solutions(case, first)
    fresh = _solutions(case, case.build())
    for i in range(len(once)):
        if not (np.array_equal(once[i], twice[i]) and np.array_equal(once[i], fresh[i])):
            raise _fail(
                case,
                "check_determinism",
                f"instance {i}: solving it again gives another solution; results must "
                "depend on theta alone (fix any seed, thread count or time limit)",
            )


def check_solve_batch(case: SolverCase) -> None:
    """``solve_batch`` (if the solver has one) equals ``solve`` on each row, with
    read-only inputs and hints."""
    solver = case.build()
    if not callable(getattr(solver, "solve_batch", None)):
        return
    expected = np.stack(_solutions(case, solver))
    found = np.asarray(solver.solve_batch(_read_only(case.instances), hints=_read_only(expected)))
    if found.shape != expected.shape or not np.array_equal(found, expected):
        raise _fail(
            case,
            "check_solve_batch",
            f"solve_batch gives {found.shape} solutions that differ from solve's {expected.shape}",
        )


def check_hints(case: SolverCase) -> None:
    """A hint (its own solution, or another instance's) never changes the optimal value."""
    solver = case.build()
    ys = _solutions(case, solver)
    for i, theta in enumerate(case.instances):
        for j, hint in enumerate(ys):
            y = np.asarray(solver.solve(_read_only(theta), hint=_read_only(hint)))
            if abs(_value(y, theta) - _value(ys[i], theta)) > _tolerance(theta):
                raise _fail(
                    case,
                    "check_hints",
                    f"instance {i} with the hint of instance {j}: value "
                    f"{_value(y, theta):.6g} instead of {_value(ys[i], theta):.6g}; a hint "
                    "may speed a solve up, never change its optimum",
                )


def _rebuilt(case: SolverCase) -> Any:
    """The solver as a worker process gets it: rebuilt from the pickled factory and
    options, else unpickled from the instance (the engine tries both, in this order)."""
    try:
        payload = cloudpickle.dumps((case.factory, dict(case.options)))
    except Exception:  # noqa: BLE001 - the engine then pickles the instance
        payload = None
    if payload is not None:
        factory, options = pickle.loads(payload)
        return factory(**options)
    try:
        return pickle.loads(cloudpickle.dumps(case.build()))
    except Exception as error:
        raise _fail(
            case,
            "check_pickling",
            f"neither the factory with its options nor the solver pickles "
            f"({type(error).__name__}: {error}); worker processes need one of them: "
            "give the solver __reduce__ (rebuild it from its options)",
        ) from error


def check_pickling(case: SolverCase) -> None:
    """The solver reaches worker processes (its factory and options pickle, or the
    instance does) and the copy there gives the same solutions."""
    rebuilt = _solutions(case, _rebuilt(case))
    for i, (y, expected) in enumerate(zip(rebuilt, _solutions(case, case.build()), strict=True)):
        if not np.array_equal(y, expected):
            raise _fail(
                case, "check_pickling", f"instance {i}: the rebuilt solver answers differently"
            )


def _samples(case: SolverCase, **options: Any) -> np.ndarray:
    po = case.perturbed(epsilon=0.5, num_samples=4, seed=0, **options)
    return np.asarray(po.solve(case.instances).samples)


def check_n_jobs(case: SolverCase) -> None:
    """``perturbed(..., n_jobs=2)`` gives bit-identical samples to ``n_jobs=1``."""
    one, two = _samples(case, n_jobs=1), _samples(case, n_jobs=2)
    if not np.array_equal(one, two):
        raise _fail(
            case,
            "check_n_jobs",
            "n_jobs=2 gives other samples than n_jobs=1; a solve must depend on its "
            "input alone, whatever thread or process runs it",
        )


def check_timeout(case: SolverCase) -> None:
    """``timeout=`` (every solve in a worker process) gives the same samples."""
    plain, timed = _samples(case, n_jobs=1), _samples(case, n_jobs=1, timeout=120.0)
    if not np.array_equal(plain, timed):
        raise _fail(
            case,
            "check_timeout",
            "with timeout= (solves in worker processes) the samples differ",
        )


def _reported(check: Callable[[SolverCase], None]) -> Callable[[SolverCase], None]:
    """``check`` with any error it meets turned into an ``AssertionError`` that names the
    solver and the check (the error stays attached as the cause)."""

    @functools.wraps(check)
    def run(case: SolverCase) -> None:
        try:
            check(case)
        except AssertionError:
            raise
        except Exception as error:
            raise _fail(case, check.__name__, f"{type(error).__name__}: {error}") from error

    return run


CHECKS: dict[str, Callable[[SolverCase], None]] = {
    check.__name__: _reported(check)
    for check in (
        check_description,
        check_sense,
        check_shapes_and_dtypes,
        check_read_only_inputs,
        check_determinism,
        check_solve_batch,
        check_hints,
        check_pickling,
        check_n_jobs,
        check_timeout,
    )
}
"""Every check, by name, in the order they run."""


def _runs(case: SolverCase) -> Iterator[tuple[str, Callable[[SolverCase], None]]]:
    for name, check in CHECKS.items():
        if name not in case.skip:
            yield name, check


def check_solver(
    solver: str | Callable[..., Any],
    instances: Any,
    *,
    options: Mapping[str, Any] | None = None,
    skip: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> None:
    """Run every check on one solver; raise one ``AssertionError`` listing each failure.

    Args:
        solver: a registered name or a factory.
        instances: at least two instances ``theta`` of one shape.
        options: the solver's options.
        skip: checks to leave out, by name, each with its reason.
        registry: where to look the name up (default: the installed plugins).

    Raises:
        AssertionError: one line per failed check, each naming the solver and instance.
    """
    case = SolverCase(solver, instances, dict(options or {}), dict(skip or {}), registry)
    failures = []
    for _, check in _runs(case):
        try:
            check(case)
        except AssertionError as error:
            failures.append(str(error))
    if failures:
        raise AssertionError("\n".join(failures))


def parametrize_with_checks(cases: Sequence[SolverCase]) -> Any:
    """A ``pytest.mark.parametrize`` decorator with one test per case and check.

    The test takes ``case`` and ``check`` and calls ``check(case)``; checks listed in a
    case's ``skip`` are reported as skipped, with the reason::

        from perturbopt.plugin.testing import SolverCase, parametrize_with_checks

        @parametrize_with_checks([SolverCase("scipy.assignment", thetas)])
        def test_contract(case, check):
            check(case)

    Args:
        cases: the solvers to check.

    Returns:
        The decorator; the ids read ``<case id>-<check name>``.
    """
    import pytest

    params = []
    for case in cases:
        for name, check in CHECKS.items():
            marks = [pytest.mark.skip(reason=case.skip[name])] if name in case.skip else []
            label = re.sub(r"\s+", "_", case.id or case.name)
            params.append(pytest.param(case, check, id=f"{label}-{name}", marks=marks))
    return pytest.mark.parametrize(("case", "check"), params)
