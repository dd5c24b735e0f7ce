"""The pluggy hook that registers the NetworkX solvers with perturbopt."""

from __future__ import annotations

from typing import Any

import perturbopt

__all__ = ["register_solvers"]


@perturbopt.hookimpl
def register_solvers(register: Any) -> None:
    """Register the factories of the ``networkx.*`` solvers."""
    register(
        "networkx.spanning_tree",
        "perturbopt_networkx._spanning_tree:SpanningTreeSolver",
        description=(
            "min/max spanning tree edge indicator, Kruskal; sense min by default; "
            "options: edges (required), num_nodes=None, sense='min'"
        ),
    )
    register(
        "networkx.min_cut",
        "perturbopt_networkx._min_cut:MinCutSolver",
        description=(
            "minimum source-target cut edge indicator via max flow; sense min; options: "
            "edges (required), source (required), target (required), num_nodes=None, "
            "directed=True, negative_costs='clip'"
        ),
    )
    register(
        "networkx.shortest_path",
        "perturbopt_networkx._shortest_path:ShortestPathSolver",
        description=(
            "shortest path edge indicator, Dijkstra; sense min; options: edges (required), "
            "source (required), target (required), num_nodes=None, directed=True, "
            "negative_costs='clip'"
        ),
    )
    register(
        "networkx.matching",
        "perturbopt_networkx._matching:MatchingSolver",
        description=(
            "maximum weight matching edge indicator; sense max; options: edges (required), "
            "num_nodes=None, maxcardinality=False"
        ),
    )
