"""perturbopt: make any black-box combinatorial solver differentiable.

Implements Berthet et al., "Learning with Differentiable Perturbed Optimizers"
(NeurIPS 2020) as a solver-agnostic plugin framework::

    import numpy as np, perturbopt

    po = perturbopt.perturbed("argmax", epsilon=0.5, num_samples=100, seed=0)
    result = po.solve(np.array([0.1, 0.5, 0.2]))
    result.mean, result.value, result.stderr, result.vjp(np.ones(3))

The torch bridge lives in :mod:`perturbopt.torch`, decision metrics (regret) in
:mod:`perturbopt.metrics`, the plugin author's toolkit in
:mod:`perturbopt.plugin`, the paper's experiments in :mod:`perturbopt.experiments`.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from typing import Any

from ._backends import shutdown_pools
from ._errors import (
    DuplicateNameError,
    MemoryLimitError,
    PerturbOptError,
    PluginError,
    SolverContractError,
    SolverCrashError,
    SolverError,
    SolverTimeoutError,
    UnknownNameError,
)
from ._estimators import PerturbedResult
from ._hookspecs import hookimpl
from ._noise import Noise
from ._options import PerturbedOptions
from ._perturbed import Perturbed, perturbed
from ._registry import Registry, get_solver, list_noises, list_solvers
from ._solver import Solver, as_solver
from ._sum_of_gamma import SumOfGamma
from ._types import Baseline, NoiseDType, Perturbation, Sense
from .pool import SolutionPool

try:
    __version__ = importlib.metadata.version("perturbopt")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a bare source tree
    __version__ = "0+unknown"

__all__ = [
    "Baseline",
    "DuplicateNameError",
    "MemoryLimitError",
    "Noise",
    "NoiseDType",
    "PerturbOptError",
    "Perturbation",
    "Perturbed",
    "PerturbedOptions",
    "PerturbedResult",
    "PluginError",
    "Registry",
    "Sense",
    "SolutionPool",
    "Solver",
    "SolverContractError",
    "SolverCrashError",
    "SolverError",
    "SolverTimeoutError",
    "SumOfGamma",
    "UnknownNameError",
    "__version__",
    "as_solver",
    "get_solver",
    "hookimpl",
    "list_noises",
    "list_solvers",
    "perturbed",
    "shutdown_pools",
]

# Names that were public before 0.2: still importable, with a warning saying where they
# went. Each maps to (module, attribute, advice).
_MOVED = {
    "Argmax": ("._builtins", "Argmax", "use perturbopt.get_solver('argmax')"),
    "TopK": ("._builtins", "TopK", "use perturbopt.get_solver('topk', k=...)"),
    "Ranking": ("._builtins", "Ranking", "use perturbopt.get_solver('ranking')"),
    "Sign": ("._builtins", "Sign", "use perturbopt.get_solver('sign')"),
    "FunctionSolver": ("._solver", "FunctionSolver", "use perturbopt.as_solver(function)"),
    "Gaussian": ("._noise", "Gaussian", "use noise='gaussian'"),
    "Gumbel": ("._noise", "Gumbel", "use noise='gumbel'"),
    "EULER_GAMMA": ("._noise", "EULER_GAMMA", "use numpy.euler_gamma"),
    "ENTRY_POINT_GROUP": (
        "._hookspecs",
        "ENTRY_POINT_GROUP",
        "use perturbopt.plugin.ENTRY_POINT_GROUP",
    ),
    "hookspec": ("._hookspecs", "hookspec", "plugins only need perturbopt.hookimpl"),
    "RegisteredEntry": ("._registry", "RegisteredEntry", "use perturbopt.plugin.RegisteredEntry"),
    "default_registry": ("._registry", "default_registry", "use perturbopt.Registry.default()"),
    "get_noise": ("._registry", "get_noise", "use perturbopt.Registry.default().get_noise"),
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        module, attribute, advice = _MOVED[name]
        warnings.warn(
            f"perturbopt.{name} is deprecated and will be removed: {advice}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module, __name__), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
