"""Directed graphs given as edge lists, for the flow solvers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from perturbopt.plugin import check_edges, message

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


def as_graph(solver: str, edges: Any, num_nodes: Any) -> Graph:
    """Check an edge list (see [`perturbopt.plugin.check_edges`][perturbopt.plugin.check_edges]) for OR-Tools,
    whose node indices are int32."""
    array, nodes = check_edges(solver, edges, num_nodes)
    if nodes > np.iinfo(np.int32).max:
        raise ValueError(message(solver, f"num_nodes={nodes} exceeds OR-Tools' int32 node indices"))
    return Graph(
        np.ascontiguousarray(array[:, 0], dtype=np.int32),
        np.ascontiguousarray(array[:, 1], dtype=np.int32),
        nodes,
    )


def as_integer_vector(solver: str, option: str, values: Any, length: int) -> np.ndarray:
    """``values`` as an int64 array of ``length`` integers (integral floats accepted).

    Raises:
        TypeError: values that are not integers.
        ValueError: the wrong length.
    """
    array = np.asarray(values)
    if array.dtype.kind == "f" and np.array_equal(array, np.rint(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iub":
        raise TypeError(message(solver, f"{option} must be integers, got dtype {array.dtype}"))
    if array.shape != (length,):
        raise ValueError(
            message(solver, f"{option} must have shape ({length},), got shape {array.shape}")
        )
    return array.astype(np.int64)
