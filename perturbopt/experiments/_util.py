"""Helpers shared by the experiments: a progress bar (tqdm when installed, plain text
on stderr otherwise) and a single-threaded torch context."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["Progress", "progress_bar", "torch_single_thread"]


class Progress(Protocol):
    """What the experiments need from a progress bar."""

    def update(self, n: int = 1) -> Any:
        """Advance by ``n`` steps."""

    def set_postfix_str(self, text: str) -> Any:
        """Show ``text`` after the bar."""

    def close(self) -> Any:
        """Finish the bar."""


class _Silent:
    """A progress bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        """Do nothing."""

    def set_postfix_str(self, text: str) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


class _TextProgress:
    """A line of text on stderr, rewritten at most every half second."""

    def __init__(self, total: int, desc: str) -> None:
        self.total = max(int(total), 1)
        self.desc = desc
        self.count = 0
        self.postfix = ""
        self.start = time.perf_counter()
        self.last = -1.0

    def _show(self, end: str = "") -> None:
        elapsed = time.perf_counter() - self.start
        share = self.count / self.total
        bar = "#" * int(30 * share) + "-" * (30 - int(30 * share))
        postfix = f" {self.postfix}" if self.postfix else ""
        sys.stderr.write(
            f"\r{self.desc}: [{bar}] {self.count}/{self.total} {elapsed:5.1f}s{postfix}{end}"
        )
        sys.stderr.flush()
        self.last = elapsed

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` steps, redrawing if half a second has passed."""
        self.count += n
        if time.perf_counter() - self.start - self.last >= 0.5 or self.count >= self.total:
            self._show()

    def set_postfix_str(self, text: str) -> None:
        """Show ``text`` after the bar from the next redraw on."""
        self.postfix = text

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._show(end="\n")


def progress_bar(total: int, desc: str, enabled: bool = True) -> Progress:
    """A progress bar over ``total`` steps.

    Args:
        total: the number of steps.
        desc: a label shown before the bar.
        enabled: ``False`` gives a bar that shows nothing.

    Returns:
        A ``tqdm`` bar on stderr when tqdm is installed, else a plain-text one.
    """
    if not enabled:
        return _Silent()
    try:
        from tqdm import tqdm
    except ImportError:
        return _TextProgress(total, desc)
    return tqdm(total=total, desc=desc, leave=True, dynamic_ncols=True)


@contextmanager
def torch_single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block, then restore the setting.

    The experiments' models are tiny: a step is a few small matrix products, and
    torch's thread pool costs far more than it saves; on a busy 2-core machine it made
    an epoch of the ranking experiment 50 times slower (10 s against 0.2 s).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
