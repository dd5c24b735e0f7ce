"""Exceptions raised by perturbopt.

Every error says what was wrong, with which input, and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "DuplicateNameError",
    "MemoryLimitError",
    "PerturbOptError",
    "PluginError",
    "SolverContractError",
    "SolverCrashError",
    "SolverError",
    "SolverTimeoutError",
    "UnknownNameError",
]


class PerturbOptError(Exception):
    """Base class of every error that perturbopt raises on purpose."""


class PluginError(PerturbOptError):
    """A plugin failed to import, to register or to validate (raised in strict mode)."""


class UnknownNameError(PerturbOptError, KeyError):
    """A solver or noise name that no registered plugin provides."""

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(PerturbOptError):
    """Two plugins register the same solver or noise name."""


class MemoryLimitError(PerturbOptError, MemoryError):
    """A call would hold more memory than the configured limit; nothing was allocated.

    Attributes:
        needed: the bytes the call would hold.
        limit: the limit in bytes.
    """

    def __init__(self, message: str, *, needed: int, limit: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.limit = limit

    def __reduce__(self) -> tuple[object, ...]:
        return _rebuild, (type(self), self.args, {"needed": self.needed, "limit": self.limit})


class SolverError(PerturbOptError, RuntimeError):
    """A solver failed on a perturbed (or the unperturbed) problem.

    The original exception, if any, is kept as ``__cause__``.

    Attributes:
        sample: the perturbation index ``l`` that failed, ``None`` for the unperturbed
            problem ``y*(theta)``.
        batch_item: the batch item that failed: an int for one batch axis, a tuple for
            several, ``None`` for an unbatched ``theta``.
        solver: the solver's name.
    """

    def __init__(
        self,
        message: str,
        *,
        sample: int | None = None,
        batch_item: int | tuple[int, ...] | None = None,
        solver: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sample = sample
        self.batch_item = batch_item
        self.solver = solver

    def __reduce__(self) -> tuple[object, ...]:
        return _rebuild, (
            type(self),
            self.args,
            {"sample": self.sample, "batch_item": self.batch_item, "solver": self.solver},
        )


class SolverContractError(SolverError):
    """A solver returned something that breaks the contract (wrong shape, NaN, inf)."""


class SolverTimeoutError(SolverError, TimeoutError):
    """A solve ran past the ``timeout`` given to [`perturbopt.perturbed`][perturbopt.perturbed].

    The worker process that ran it was killed and is replaced on the next call.
    """


class SolverCrashError(SolverError):
    """A worker process died while solving (a crash in a solver's native code, say).

    Attributes:
        samples: every ``(sample, batch_item)`` that was being solved when a worker died.
    """

    samples: tuple[tuple[int | None, int | tuple[int, ...] | None], ...] = ()


def _rebuild(
    cls: type[BaseException], args: tuple[object, ...], attributes: dict[str, object]
) -> BaseException:
    error = cls.__new__(cls)
    error.args = args
    for name, value in attributes.items():
        setattr(error, name, value)
    return error
