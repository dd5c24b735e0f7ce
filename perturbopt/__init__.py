"""perturbopt: make any black-box combinatorial solver differentiable.

Implements Berthet et al., "Learning with Differentiable Perturbed Optimizers"
(NeurIPS 2020) as a solver-agnostic plugin framework::

    import numpy as np, perturbopt

    po = perturbopt.perturbed("argmax", epsilon=0.5, num_samples=100, seed=0)
    result = po.solve(np.array([0.1, 0.5, 0.2]))
    result.mean, result.value, result.stderr, result.vjp(np.ones(3))

Any function of ``theta``, of any output shape, is smoothed the same way with
[`perturbed_function`][perturbopt.perturbed_function]. The torch bridge lives in
[perturbopt.torch][] (with the field's other methods: SPO+, blackbox, I-MLE, ...),
decision metrics (regret) in [perturbopt.metrics][], the plugin author's toolkit in
[perturbopt.plugin][] (and its test kit in [perturbopt.plugin.testing][]), the paper's
experiments in [perturbopt.experiments][].
"""

from __future__ import annotations

import importlib.metadata

from ._engine import shutdown_pools
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
from ._function import perturbed_function
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
    "perturbed_function",
    "shutdown_pools",
]
