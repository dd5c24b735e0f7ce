"""perturbopt: make any black-box combinatorial solver differentiable.

Implements Berthet et al., "Learning with Differentiable Perturbed Optimizers"
(NeurIPS 2020) as a solver-agnostic plugin framework::

    import numpy as np, perturbopt

    po = perturbopt.perturbed("argmax", epsilon=0.5, num_samples=100, seed=0)
    result = po.solve(np.array([0.1, 0.5, 0.2]))
    result.mean, result.value, result.stderr, result.vjp(np.ones(3))

The torch bridge lives in :mod:`perturbopt.torch`.
"""

from ._builtins import Argmax, Ranking, Sign, TopK
from ._errors import (
                      DuplicateNameError,
                      PerturbOptError,
                      PluginError,
                      SolverContractError,
                      SolverError,
                      UnknownNameError,
)
from ._estimators import PerturbedResult
from ._hookspecs import ENTRY_POINT_GROUP, hookimpl, hookspec
from ._noise import EULER_GAMMA, Gaussian, Gumbel, Noise
from ._perturbed import Perturbed, perturbed
from ._pools import shutdown_pools
from ._registry import (
                      RegisteredEntry,
                      Registry,
                      default_registry,
                      get_noise,
                      get_solver,
                      list_noises,
                      list_solvers,
)
from ._solver import FunctionSolver, Solver, as_solver

__version__ = "0.1.0"

__all__ = [
                      "ENTRY_POINT_GROUP",
                      "EULER_GAMMA",
                      "Argmax",
                      "DuplicateNameError",
                      "FunctionSolver",
                      "Gaussian",
                      "Gumbel",
                      "Noise",
                      "PerturbOptError",
                      "Perturbed",
                      "PerturbedResult",
                      "PluginError",
                      "Ranking",
                      "RegisteredEntry",
                      "Registry",
                      "Sign",
                      "Solver",
                      "SolverContractError",
                      "SolverError",
                      "TopK",
                      "UnknownNameError",
                      "__version__",
                      "as_solver",
                      "default_registry",
                      "get_noise",
                      "get_solver",
                      "hookimpl",
                      "hookspec",
                      "list_noises",
                      "list_solvers",
                      "perturbed",
    "shutdown_pools",
]
