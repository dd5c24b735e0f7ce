"""The error raised when an OR-Tools solve ends in a status that has no usable answer."""

from __future__ import annotations

from perturbopt import PerturbOptError

__all__ = ["StatusError"]


class StatusError(PerturbOptError, RuntimeError):
    """An OR-Tools solver ended with a status that gives no (optimal) solution.

    Args:
        solver: the registry name of the solver (``"ortools.cp_sat"``, ...).
        status: OR-Tools' name for the status (``"INFEASIBLE"``, ``"FEASIBLE"``, ...).
        detail: what it means for this model and what to do about it.

    Attributes:
        solver: as given.
        status: as given.
    """

    def __init__(self, solver: str, status: str, detail: str) -> None:
        super().__init__(f"solver {solver!r} ended with status {status}: {detail}")
        self.solver = solver
        self.status = status
        self.detail = detail

    def __reduce__(self) -> tuple[type[StatusError], tuple[str, str, str]]:
        # Errors travel back from worker processes; rebuild from the three fields.
        return type(self), (self.solver, self.status, self.detail)
