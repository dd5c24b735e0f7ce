"""Results that arrive in any order, consumed in task order.

Threads and worker processes finish tasks in any order; a call consumes their results
in task order, as soon as the next one is there, so that a reduction over them (a sum
of partial Jacobian products, say) is bit-identical whatever the number of workers,
and only the few results that finished early are held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["InOrder"]

T = TypeVar("T")


class InOrder(Generic[T]):
    """Hands results to ``consume(index, result)`` in index order (0, 1, 2, ...).

    ``consume`` returning ``False`` stops the flow: later results are dropped. Not
    thread-safe by itself: callers hold their own lock around `put`.
    """

    def __init__(self, consume: Callable[[int, T], bool | None]) -> None:
        self._consume = consume
        self._waiting: dict[int, T] = {}
        self.next = 0
        self.stopped = False

    def put(self, index: int, result: T) -> None:
        """Result ``index`` is ready: consume it, and those after it that wait."""
        self._waiting[index] = result
        while not self.stopped and self.next in self._waiting:
            if self._consume(self.next, self._waiting.pop(self.next)) is False:
                self.stopped = True
            self.next += 1

    def stop(self) -> None:
        """Consume nothing more."""
        self.stopped = True
