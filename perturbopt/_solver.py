"""The solver contract, and wrapping plain functions as solvers.

A solver maps one instance ``theta`` (an array of shape ``s``) to a solution ``y`` of
the same shape::

    y*(theta) = argmax_{y in Y} <y, theta>   (sense="max")
    y*(theta) = argmin_{y in Y} <y, theta>   (sense="min", theta are costs)

Two optional extensions widen the contract:

* ``output_shape(s)``: the solution (or any function's output) has another shape than
  ``theta``; the smoothed mean and its Jacobian are defined all the same, the notions
  built on ``<y, theta>`` (``F_eps``, the Fenchel-Young loss) are not, unless
* ``features(y)`` (and optionally ``offset(y)``) make the solver a generalized
  maximizer ``argmax_y <theta, g(y)> + h(y)`` (InferOpt's): ``g(y)`` has ``theta``'s
  shape and replaces ``y`` wherever ``y`` meets ``theta``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._types import Sense

__all__ = [
    "AUTO",
    "FunctionSolver",
    "Solver",
    "as_solver",
    "check_solver",
    "declares_output_shape",
    "expected_output_shape",
    "has_features",
    "objective_terms",
    "solver_name",
    "solver_ndim",
]

AUTO = "auto"
"""``out_shape="auto"``: a function's output shape is whatever its first output has."""


@runtime_checkable
class Solver(Protocol):
    """What perturbopt needs from a solver.

    Attributes:
        sense: ``"max"`` if the solver maximises ``<y, theta>``, ``"min"`` if it
            minimises it.

    Optional attributes the engine uses when present:
        ndim: number of axes of one instance (default 1). ``theta`` with one more
            axis is a batch.
        shape: the exact shape of one instance, checked before any solve.
        name: shown in error messages.
        solve_batch(thetas, *, hints=None): solve a stack of instances along a
            leading axis at once; row ``i`` of the result must depend on row ``i``
            of ``thetas`` only.
        releases_gil: ``True`` if ``solve``/``solve_batch`` release the GIL for most of
            their time and one instance per thread can run concurrently; the engine
            then runs the solver on threads (no pickling, no shipping).
        output_shape(instance_shape): the shape of one solution when it is not
            ``theta``'s (a path as a node list, a scalar per instance): ``y_eps`` and its
            Jacobian ``(*out, *s)`` work as before; ``F_eps`` and the Fenchel-Young loss
            need ``features``.
        features(y): ``g(y)``, of ``theta``'s shape, for a generalized maximizer
            ``y*(theta) = argmax_y <theta, g(y)> + h(y)``; ``F_eps``, its gradient
            ``E[g(y*(theta + eps Z))]`` and the Fenchel-Young loss then use ``g(y)``.
        offset(y): ``h(y)``, a float, the part of the objective that does not depend
            on ``theta`` (default 0).

    Inputs (``theta``, ``thetas``, hints) are read-only arrays: copy one before
    changing it.
    """

    sense: Sense

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        """Return ``y*(theta)``, an array of ``theta``'s shape.

        ``hint`` is a feasible solution close to the answer (the unperturbed
        solution when warm starts are on); solvers that cannot use it ignore it.
        """
        ...


class FunctionSolver:
    """A plain function seen as a [`Solver`][perturbopt._solver.Solver].

    Args:
        function: ``function(theta) -> y``. With ``batched=True`` it receives a
            stack ``(n, *s)`` and returns ``(n, *out)``.
        sense: ``"max"`` or ``"min"``.
        ndim: number of axes of one instance.
        batched: whether ``function`` takes a stack of instances.
        name: shown in error messages (defaults to the function's name).
        out_shape: the shape of one output: ``None`` (default) for ``theta``'s shape,
            as the solver contract says; a tuple; a callable from the instance shape to
            the output shape; or ``"auto"``, whatever the first output has (every later
            output must have it too).

    Example:
        >>> import numpy as np
        >>> sign = FunctionSolver(np.sign, sense="max")
        >>> sign.solve(np.array([-2.0, 3.0]))
        array([-1.,  1.])
    """

    def __init__(
        self,
        function: Callable[[np.ndarray], Any],
        *,
        sense: Sense = "max",
        ndim: int = 1,
        batched: bool = False,
        name: str | None = None,
        out_shape: Any = None,
    ) -> None:
        if not callable(function):
            raise TypeError(f"as_solver needs a callable, got {type(function).__name__}")
        if sense not in ("max", "min"):
            raise ValueError(f"sense must be 'max' or 'min', got {sense!r}")
        if not isinstance(ndim, int) or ndim < 0:
            raise ValueError(f"ndim must be a non-negative integer, got {ndim!r}")
        self.function = function
        self.sense: Sense = sense
        self.ndim = ndim
        self.batched = batched
        self.name = name or getattr(function, "__qualname__", None) or repr(function)
        self.out_shape = _check_out_shape(out_shape)
        self._inferred: dict[tuple[int, ...], tuple[int, ...]] = {}

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        if self.batched:
            y = np.asarray(self.function(theta[None]))[0]
        else:
            y = np.asarray(self.function(theta))
        self._infer(theta.shape, y.shape)
        return y

    def output_shape(self, instance_shape: tuple[int, ...]) -> tuple[int, ...] | None:
        """The shape of one output for instances of ``instance_shape`` (``None``: not
        known yet, with ``out_shape="auto"`` before the first output)."""
        if self.out_shape is None:
            return tuple(instance_shape)
        if isinstance(self.out_shape, tuple):
            return self.out_shape
        if self.out_shape == AUTO:
            return self._inferred.get(tuple(instance_shape))
        return tuple(int(n) for n in self.out_shape(tuple(instance_shape)))

    def _infer(self, instance_shape: tuple[int, ...], shape: tuple[int, ...]) -> None:
        if self.out_shape == AUTO:
            self._inferred.setdefault(tuple(instance_shape), tuple(shape))

    def __getattr__(self, attribute: str) -> Any:
        # solve_batch exists only for batched functions, so that the engine's
        # hasattr(solver, "solve_batch") tells the truth.
        if attribute == "solve_batch" and self.__dict__.get("batched"):
            return self._solve_batch
        raise AttributeError(attribute)

    def _solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        ys = np.asarray(self.function(thetas))
        if ys.ndim >= 1 and ys.shape[0] == thetas.shape[0]:
            self._infer(thetas.shape[1:], ys.shape[1:])
        return ys

    def __repr__(self) -> str:
        return f"FunctionSolver({self.name}, sense={self.sense!r}, ndim={self.ndim})"


def _check_out_shape(out_shape: Any) -> Any:
    if out_shape is None or out_shape == AUTO or callable(out_shape):
        return out_shape
    shape: tuple[int, ...] | None
    try:
        shape = tuple(int(n) for n in out_shape)
    except (TypeError, ValueError):
        shape = (int(out_shape),) if isinstance(out_shape, int) else None
    if shape is None or any(n < 0 for n in shape):
        raise ValueError(
            f"out_shape must be None (theta's shape), a tuple of non-negative ints, a "
            f"callable from the instance shape to the output shape, or 'auto'; got "
            f"{out_shape!r}"
        )
    return shape


def as_solver(
    function: Callable[[np.ndarray], Any],
    *,
    sense: Sense = "max",
    ndim: int = 1,
    batched: bool = False,
    name: str | None = None,
    out_shape: Any = None,
) -> FunctionSolver:
    """Turn ``function(theta) -> y`` into a [`Solver`][perturbopt._solver.Solver].

    See `FunctionSolver` for the arguments.
    """
    return FunctionSolver(
        function, sense=sense, ndim=ndim, batched=batched, name=name, out_shape=out_shape
    )


def expected_output_shape(solver: Any, instance_shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape every solution of ``solver`` must have for instances of
    ``instance_shape``: its ``output_shape`` if it has one, else ``instance_shape``
    (``None``: not known before the first solution)."""
    method = getattr(solver, "output_shape", None)
    if method is None:
        return tuple(instance_shape)
    shape = method(tuple(instance_shape))
    return None if shape is None else tuple(int(n) for n in shape)


def declares_output_shape(solver: Any) -> bool:
    """Whether ``solver`` says the shape of its outputs itself (else they have
    ``theta``'s shape, as the solver contract says)."""
    if isinstance(solver, FunctionSolver):
        return solver.out_shape is not None
    return callable(getattr(solver, "output_shape", None))


def has_features(solver: Any) -> bool:
    """Whether ``solver`` is a generalized maximizer (it reports ``features(y)``)."""
    return callable(getattr(solver, "features", None))


def objective_terms(
    solver: Any, solutions: np.ndarray, instance_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """``(g(y_r), h(y_r))`` for a stack of solutions ``(n, *out)`` of a generalized
    maximizer: ``(n, *s)`` float64 and ``(n,)`` float64.

    Raises:
        ValueError: ``features`` returned an array that is not of ``theta``'s shape.
    """
    count = solutions.shape[0]
    features = np.empty((count,) + tuple(instance_shape))
    offsets = np.zeros(count)
    offset = getattr(solver, "offset", None)
    for row in range(count):
        g = np.asarray(solver.features(solutions[row]), dtype=np.float64)
        if g.shape != tuple(instance_shape):
            raise ValueError(
                f"solver {solver_name(solver)!r}: features(y) returned shape {g.shape}; "
                f"g(y) must have theta's shape {tuple(instance_shape)} (the objective is "
                "<theta, g(y)> + h(y))"
            )
        features[row] = g
        if offset is not None:
            offsets[row] = float(offset(solutions[row]))
    return features, offsets


def solver_name(solver: Any) -> str:
    """The name used for ``solver`` in messages."""
    name = getattr(solver, "name", None)
    return name if isinstance(name, str) else type(solver).__name__


def solver_ndim(solver: Any) -> int:
    """Number of axes of one instance for ``solver`` (its ``shape`` or ``ndim``, else 1)."""
    shape = getattr(solver, "shape", None)
    if shape is not None:
        return len(tuple(shape))
    ndim = getattr(solver, "ndim", None)
    return int(ndim) if ndim is not None else 1


def check_solver(solver: Any) -> None:
    """Raise ``TypeError`` if ``solver`` does not follow the [`Solver`][perturbopt._solver.Solver] protocol."""
    if not (
        callable(getattr(solver, "solve", None)) or callable(getattr(solver, "solve_batch", None))
    ):
        raise TypeError(
            f"{solver_name(solver)} is not a solver: it needs a solve(theta) method "
            "(or pass a plain function, which perturbopt wraps with as_solver)"
        )
    sense = getattr(solver, "sense", None)
    if sense not in ("max", "min"):
        raise TypeError(
            f"solver {solver_name(solver)} has sense={sense!r}; a solver must say whether it "
            "maximises or minimises <y, theta> with sense='max' or sense='min'"
        )
