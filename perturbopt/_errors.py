"""Exceptions raised by perturbopt.

Every error says what was wrong, with which input, and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "DuplicateNameError",
    "PerturbOptError",
    "PluginError",
    "SolverContractError",
    "SolverError",
    "UnknownNameError",
]


class PerturbOptError(Exception):
    """Base class of every error that perturbopt raises on purpose."""


class PluginError(PerturbOptError):
    """A plugin failed to import or to register (raised in strict mode)."""


class UnknownNameError(PerturbOptError, KeyError):
    """A solver or noise name that no registered plugin provides."""

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(PerturbOptError):
    """Two plugins register the same solver or noise name."""


class SolverError(PerturbOptError, RuntimeError):
    """A solver raised while solving a perturbed problem.

    The original exception is kept as ``__cause__``; ``sample`` and ``batch_item``
    locate the perturbed problem that failed (``batch_item`` is ``None`` for an
    unbatched ``theta``, ``sample`` is ``None`` for the unperturbed problem).
    """

    def __init__(self, message: str, *, sample: int | None = None, batch_item: int | None = None):
        super().__init__(message)
        self.sample = sample
        self.batch_item = batch_item


class SolverContractError(SolverError):
    """A solver returned something that breaks the contract (wrong shape, NaN, inf)."""
