"""The solver contract, and wrapping plain functions as solvers.

A solver maps one instance ``theta`` (an array of shape ``s``) to a solution ``y`` of
the same shape::

    y*(theta) = argmax_{y in Y} <y, theta>   (sense="max")
    y*(theta) = argmin_{y in Y} <y, theta>   (sense="min", theta are costs)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._types import Sense

__all__ = ["FunctionSolver", "Solver", "as_solver", "check_solver", "solver_name", "solver_ndim"]


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
            stack ``(n, *s)`` and returns ``(n, *s)``.
        sense: ``"max"`` or ``"min"``.
        ndim: number of axes of one instance.
        batched: whether ``function`` takes a stack of instances.
        name: shown in error messages (defaults to the function's name).

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

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        if self.batched:
            return np.asarray(self.function(theta[None]))[0]
        return np.asarray(self.function(theta))

    def __getattr__(self, attribute: str) -> Any:
        # solve_batch exists only for batched functions, so that the engine's
        # hasattr(solver, "solve_batch") tells the truth.
        if attribute == "solve_batch" and self.__dict__.get("batched"):
            return self._solve_batch
        raise AttributeError(attribute)

    def _solve_batch(self, thetas: np.ndarray, *, hints: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(self.function(thetas))

    def __repr__(self) -> str:
        return f"FunctionSolver({self.name}, sense={self.sense!r}, ndim={self.ndim})"


def as_solver(
    function: Callable[[np.ndarray], Any],
    *,
    sense: Sense = "max",
    ndim: int = 1,
    batched: bool = False,
    name: str | None = None,
) -> FunctionSolver:
    """Turn ``function(theta) -> y`` into a [`Solver`][perturbopt._solver.Solver].

    See `FunctionSolver` for the arguments.
    """
    return FunctionSolver(function, sense=sense, ndim=ndim, batched=batched, name=name)


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
