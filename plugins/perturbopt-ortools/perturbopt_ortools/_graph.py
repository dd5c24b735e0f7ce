"""Directed graphs given as edge lists, for the flow solvers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Graph", "as_graph", "as_integer_vector"]


@dataclass(frozen=True)
class Graph:
    """A directed graph: edge ``e`` goes from ``tails[e]`` to ``heads[e]``.

    Attributes:
        tails: int32 array ``(E,)``.
        heads: int32 array ``(E,)``.
        num_nodes: nodes are ``0 .. num_nodes - 1``.
    """

    tails: np.ndarray
    heads: np.ndarray
    num_nodes: int

    @property
    def num_edges(self) -> int:
        return int(self.tails.shape[0])

    def check_node(self, node: Any, what: str, solver: str) -> int:
        """``node`` as an int in ``0 .. num_nodes - 1``, else a ``ValueError``."""
        if isinstance(node, bool) or not isinstance(node, (int, np.integer)):
            raise TypeError(f"solver {solver!r}: {what} must be a node index, got {node!r}")
        if not 0 <= node < self.num_nodes:
            raise ValueError(f"solver {solver!r}: {what}={node} is not a node of the graph "
                             f"(nodes are 0 .. {self.num_nodes - 1})")
        return int(node)


def as_graph(edges: Any, num_nodes: int | None, solver: str) -> Graph:
    """Check an edge list: ``(tail, head)`` pairs or an ``(E, 2)`` integer array.

    Args:
        edges: the edges.
        num_nodes: the number of nodes; ``None`` for ``max(edges) + 1``.
        solver: named in errors.
    """
    try:
        array = np.asarray(edges)
    except Exception as error:
        raise TypeError(f"solver {solver!r}: edges must be (tail, head) pairs or an (E, 2) "
                        f"integer array; could not convert them: {error}") from error
    if array.size == 0:
        raise ValueError(f"solver {solver!r}: the graph has no edges")
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"solver {solver!r}: edges must be (tail, head) pairs or an (E, 2) "
                         f"integer array, got an array of shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise TypeError(f"solver {solver!r}: edges must hold integer node indices, "
                        f"got dtype {array.dtype}")
    if array.min() < 0:
        edge = int(np.argwhere(array < 0)[0, 0])
        raise ValueError(f"solver {solver!r}: edge {edge} {tuple(array[edge].tolist())} has a "
                         "negative node index")
    highest = int(array.max())
    if num_nodes is None:
        num_nodes = highest + 1
    elif isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)):
        raise TypeError(f"solver {solver!r}: num_nodes must be an integer, got {num_nodes!r}")
    elif highest >= num_nodes:
        edge = int(np.argwhere(array >= num_nodes)[0, 0])
        raise ValueError(f"solver {solver!r}: edge {edge} {tuple(array[edge].tolist())} names a "
                         f"node >= num_nodes={num_nodes}")
    if num_nodes > np.iinfo(np.int32).max:
        raise ValueError(f"solver {solver!r}: num_nodes={num_nodes} exceeds OR-Tools' int32 "
                         "node indices")
    return Graph(np.ascontiguousarray(array[:, 0], dtype=np.int32),
                 np.ascontiguousarray(array[:, 1], dtype=np.int32), int(num_nodes))


def as_integer_vector(values: Any, length: int, what: str, solver: str) -> np.ndarray:
    """``values`` as an int64 array of ``length`` integers, else a clear error."""
    array = np.asarray(values)
    if array.shape != (length,):
        raise ValueError(f"solver {solver!r}: {what} must have shape ({length},), "
                         f"got shape {array.shape}")
    if array.dtype.kind == "f" and np.array_equal(array, np.rint(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iub":
        raise TypeError(f"solver {solver!r}: {what} must be integers, got dtype {array.dtype}")
    return array.astype(np.int64)
