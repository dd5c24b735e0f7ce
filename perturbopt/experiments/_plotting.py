"""The plotting helper every experiment shares: an explicit matplotlib ``Figure`` written
to a PNG, with no pyplot state and the user's backend left alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["png_figure"]


@contextmanager
def png_figure(
    path: str | Path,
    *,
    nrows: int = 1,
    ncols: int = 1,
    size: tuple[float, float] = (10.0, 4.0),
    dpi: int = 120,
) -> Iterator[tuple[Figure, np.ndarray]]:
    """A figure with a grid of axes, written to ``path`` as a PNG when the block ends.

    The figure is a `matplotlib.figure.Figure` built directly, not through
    ``pyplot``: it joins no pyplot figure list, needs no closing, and saving it picks
    the Agg renderer for this file alone, so neither ``matplotlib.use`` nor the user's
    backend is touched. matplotlib is imported here, only when a figure is drawn.

    Args:
        path: the PNG to write; its parent folders are created.
        nrows: rows of axes.
        ncols: columns of axes.
        size: the figure's width and height in inches.
        dpi: resolution of the PNG.

    Yields:
        The figure and its axes as an ``(nrows, ncols)`` array.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "line.png"
        >>> with png_figure(out) as (fig, axes):
        ...     _ = axes[0, 0].plot([0, 1], [1, 0])
        >>> out.read_bytes()[:4]
        b'\\x89PNG'
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    yield figure, axes
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
