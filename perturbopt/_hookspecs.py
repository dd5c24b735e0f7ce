"""The pluggy hook specifications that solver and noise plugins implement.

A plugin is any module or object with functions decorated by [`hookimpl`][perturbopt._hookspecs.hookimpl]::

    import perturbopt

    @perturbopt.hookimpl
    def register_solvers(register):
        register("mypkg.knapsack", KnapsackSolver, description="0/1 knapsack by DP")

Installed plugins are found through the entry-point group ``perturbopt``.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT_NAME = "perturbopt"
ENTRY_POINT_GROUP = "perturbopt"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

RegisterFunction = Callable[..., None]


class PerturbOptHookSpecs:
    """Hooks called once, when the registry first loads its plugins."""

    @hookspec
    def register_solvers(self, register: RegisterFunction) -> None:  # type: ignore[empty-body]
        """Register solver factories.

        Args:
            register: call ``register(name, factory, description="")`` once per solver.
                ``factory(**options)`` must return an object following the
                [`perturbopt.Solver`][perturbopt.Solver] protocol. Register factories (classes or
                functions), not instances, so that each worker builds its own copy.
                ``factory`` may also be an import path ``"package.module:Class"``: it is
                imported when the solver is first built, so that a plugin whose solver
                library is slow to import costs nothing until it is used.
        """

    @hookspec
    def register_noises(self, register: RegisterFunction) -> None:  # type: ignore[empty-body]
        """Register noise distributions.

        Args:
            register: call ``register(name, factory, description="")`` once per noise.
                ``factory()`` must return a [`perturbopt.Noise`][perturbopt.Noise].
        """
