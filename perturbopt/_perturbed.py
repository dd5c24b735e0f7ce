"""``perturbed(...)``: a solver, noise and sample count bundled into one callable."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from ._engine import PerturbationPlan, SolverHandle, solve_plan, solve_unperturbed
from ._estimators import PerturbedResult
from ._noise import Noise
from ._registry import Registry, default_registry
from ._solver import FunctionSolver, check_solver, solver_name, solver_ndim
from ._validation import (
    as_float_array,
    check_epsilon,
    check_nonzero,
    check_num_samples,
    split_batch,
)

__all__ = ["Perturbation", "Perturbed", "perturbed"]

Perturbation = Literal["additive", "multiplicative"]


class Perturbed:
    """A black-box solver made into a perturbed optimizer (Berthet et al., 2020).

    ``y_eps(theta) = E[y*(theta + eps Z)]`` and ``F_eps(theta) = E[max_y <y, theta + eps Z>]``
    (``min`` for ``sense="min"``), estimated from ``num_samples`` draws of ``Z``.
    Build it with :func:`perturbed`; see there for the arguments.
    """

    def __init__(
        self,
        solver: Any,
        *,
        epsilon: float = 1.0,
        num_samples: int = 100,
        noise: str | Noise = "gaussian",
        perturbation: Perturbation = "additive",
        seed: Any = None,
        n_jobs: int | None = None,
        warm_start: bool = False,
        antithetic: bool = False,
        keep_noise: bool = True,
        solver_options: dict[str, Any] | None = None,
        sense: Literal["max", "min"] | None = None,
        ndim: int | None = None,
        registry: Registry | None = None,
    ) -> None:
        registry = registry or default_registry()
        self.epsilon = check_epsilon(epsilon)
        self.num_samples = check_num_samples(num_samples)
        self.noise = _resolve_noise(noise, registry)
        if perturbation not in ("additive", "multiplicative"):
            raise ValueError(f"perturbation must be 'additive' or 'multiplicative', "
                             f"got {perturbation!r}")
        self.perturbation: Perturbation = perturbation
        self._shift = self.noise.log_mgf(self.epsilon) if perturbation == "multiplicative" else None
        if antithetic and not self.noise.symmetric:
            raise ValueError(f"antithetic pairs need a symmetric noise (Z and -Z alike); "
                             f"{self.noise.name!r} is not: use noise='gaussian'")
        if antithetic and self.num_samples % 2:
            raise ValueError(f"antithetic pairs need an even num_samples, got {self.num_samples}")
        self.antithetic = bool(antithetic)
        self.keep_noise = bool(keep_noise)
        self.warm_start = bool(warm_start)
        self.n_jobs = n_jobs
        self._rng = np.random.default_rng(seed)
        self._handle = _resolve_solver(solver, solver_options, sense, ndim, registry)
        self.solver = self._handle.solver
        self.sense: str = self.solver.sense
        self._ndim = solver_ndim(self.solver) if ndim is None else ndim
        self._shape = getattr(self.solver, "shape", None)

    def __repr__(self) -> str:
        return (f"Perturbed({solver_name(self.solver)!r}, epsilon={self.epsilon}, "
                f"num_samples={self.num_samples}, noise={self.noise.name!r}, "
                f"perturbation={self.perturbation!r}, n_jobs={self.n_jobs})")

    # -- input ----------------------------------------------------------------------

    def _prepare(self, theta: Any) -> tuple[np.ndarray, bool]:
        array = as_float_array(theta, "theta")
        batch, batched = split_batch(array, self._ndim, self._shape, solver_name(self.solver))
        if self._shift is not None:
            check_nonzero(batch, batched)
        return batch, batched

    # -- solving --------------------------------------------------------------------

    def solve(self, theta: Any, *, seed: Any = None) -> PerturbedResult:
        """Solve ``num_samples`` perturbed copies of each instance of ``theta``.

        Args:
            theta: one instance ``(*s)`` or a batch ``(B, *s)``.
            seed: draw this call's noise from a fresh generator seeded with ``seed``
                (for common random numbers); by default the object's own generator,
                seeded once at construction, advances from call to call.

        Returns:
            A :class:`PerturbedResult` with ``mean``, ``value``, ``stderr``,
            ``samples``, ``vjp(g)``, ``jacobian()``.
        """
        batch, batched = self._prepare(theta)
        rng = self._rng if seed is None else np.random.default_rng(seed)
        state = None if self.keep_noise else copy.deepcopy(rng.bit_generator.state)
        plan = PerturbationPlan(batch, self._draw(rng, batch.shape), self.epsilon, self._shift)
        hard: np.ndarray | None = None
        if self.warm_start:
            hard = solve_unperturbed(self._handle, batch, batched)
        samples, values = solve_plan(self._handle, plan, n_jobs=self.n_jobs, hints=hard,
                                     batched=batched)
        result = PerturbedResult(
            plan=plan,
            samples=samples,
            sample_values=values,
            sense=self.sense,
            score=self.noise.score,
            antithetic=self.antithetic,
            batched=batched,
            hard_solver=lambda: solve_unperturbed(self._handle, batch, batched),
        )
        if hard is not None:
            result._cache["hard"] = hard
        if state is not None:
            plan.release_noise(lambda: self._draw(_generator_at(rng, state), batch.shape))
        return result

    def __call__(self, theta: Any, *, seed: Any = None) -> np.ndarray:
        """The perturbed solution ``y_eps(theta)`` alone."""
        return self.solve(theta, seed=seed).mean

    def hard(self, theta: Any) -> np.ndarray:
        """``y*(theta)``, the unperturbed solution, float64 of ``theta``'s shape."""
        batch, batched = self._prepare(theta)
        solution = solve_unperturbed(self._handle, batch, batched)
        return solution if batched else solution[0]

    def _draw(self, rng: np.random.Generator, batch_shape: tuple[int, ...]) -> np.ndarray:
        shape = (self.num_samples,) + batch_shape
        if not self.antithetic:
            return np.asarray(self.noise.sample(rng, shape), dtype=np.float64)
        half = np.asarray(self.noise.sample(rng, (self.num_samples // 2,) + batch_shape),
                          dtype=np.float64)
        return np.concatenate([half, -half])


def _generator_at(rng: np.random.Generator, state: Mapping[str, Any]) -> np.random.Generator:
    """A new generator of ``rng``'s kind, set to a saved ``state``."""
    bit_generator = type(rng.bit_generator)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _resolve_noise(noise: Any, registry: Registry) -> Noise:
    if isinstance(noise, str):
        return registry.get_noise(noise)
    if isinstance(noise, Noise):
        return noise
    raise TypeError(f"noise must be a registered name ('gaussian', 'gumbel', ...) or a Noise "
                    f"object with sample, score and log_mgf, got {noise!r}")


def _resolve_solver(solver: Any, options: dict[str, Any] | None,
                    sense: Literal["max", "min"] | None, ndim: int | None,
                    registry: Registry) -> SolverHandle:
    if isinstance(solver, str):
        entry = registry.solver_entry(solver)
        opts = dict(options or {})
        try:
            instance = entry.factory(**opts)
        except TypeError as error:
            raise TypeError(f"could not build solver {solver!r} with options {opts}: {error}"
                            ) from error
        if getattr(instance, "name", None) is None:
            try:
                instance.name = solver
            except AttributeError:  # pragma: no cover - slotted or frozen solvers
                pass
        check_solver(instance)
        _check_sense(instance, sense)
        return SolverHandle(instance, recipe=(entry.factory, opts))
    if isinstance(solver, Perturbed):
        raise TypeError("perturbed() takes a solver, not a Perturbed object: pass the solver "
                        "it wraps (its .solver attribute) with the options you want")
    if options:
        raise TypeError("solver_options apply to registered solver names only; "
                        "configure a solver object or function yourself")
    if not hasattr(solver, "solve") and not hasattr(solver, "solve_batch") and callable(solver):
        solver = FunctionSolver(solver, sense=sense or "max", ndim=1 if ndim is None else ndim)
    check_solver(solver)
    _check_sense(solver, sense)
    return SolverHandle(solver)


def _check_sense(solver: Any, sense: str | None) -> None:
    if sense is not None and sense != solver.sense:
        raise ValueError(f"sense={sense!r} was asked for, but solver {solver_name(solver)!r} "
                         f"has sense={solver.sense!r}; leave sense out for solver objects")


def perturbed(
    solver: Any,
    *,
    epsilon: float = 1.0,
    num_samples: int = 100,
    noise: str | Noise = "gaussian",
    perturbation: Perturbation = "additive",
    seed: Any = None,
    n_jobs: int | None = None,
    warm_start: bool = False,
    antithetic: bool = False,
    keep_noise: bool = True,
    solver_options: dict[str, Any] | None = None,
    sense: Literal["max", "min"] | None = None,
    ndim: int | None = None,
    registry: Registry | None = None,
) -> Perturbed:
    """Make a solver differentiable by random perturbation.

    ``y_eps(theta) = E[y*(theta + eps Z)]`` is a smooth function of ``theta`` whose
    Jacobian is ``E[y*(theta + eps Z) grad nu(Z)^T] / eps`` (Berthet et al., 2020).

    Args:
        solver: a registered name (``"argmax"``, ``"ortools.assignment"``, ...), an
            object with ``sense`` and ``solve``, or a plain function ``theta -> y``.
        epsilon: noise scale ``eps > 0``.
        num_samples: number ``M`` of perturbations per instance.
        noise: ``"gaussian"``, ``"gumbel"``, another registered name, or a Noise object.
        perturbation: ``"additive"`` (``theta + eps Z``) or ``"multiplicative"``
            (``theta * exp(eps Z - eps^2 / 2)`` for Gaussian noise; for positive costs).
        seed: seeds the generator that draws all noise, in the calling process.
        n_jobs: joblib's meaning: ``None`` is 1 unless ``joblib.parallel_config`` says
            otherwise, ``-1`` all cores. Pick the backend (loky, threading, dask, ray)
            with ``joblib.parallel_config``; results are bit-identical whatever it is.
        warm_start: solve ``y*(theta)`` first and pass it as ``hint`` to every solve.
        antithetic: draw pairs ``Z, -Z`` (symmetric noise, even ``num_samples``). Pairs
            cancel the part of ``<y(Z), g>`` that is even in ``Z`` (a large common part)
            and then shrink the VJP's variance a lot; for an integrand odd in ``Z`` both
            members of a pair give the same term, and a pair is worth one sample.
        keep_noise: hold the noise ``(M, B, *s)`` float64 on the result (default). With
            ``False`` the result holds only the solutions (``int8`` for 0/1 ones) and the
            generator's state, and redraws the same noise when ``vjp``, ``jvp`` or
            ``jacobian`` needs it: 1/8 of the memory for one more draw. ``mean``,
            ``value`` and the Fenchel-Young loss never need it.
        solver_options: options for a registered solver, e.g. ``{"k": 3}`` for topk.
        sense: for a plain function, ``"max"`` (default) or ``"min"``.
        ndim: number of axes of one instance, for solvers that do not say (default 1).
        registry: where to look up names (default: the installed plugins).

    Example:
        >>> import numpy as np, perturbopt
        >>> po = perturbopt.perturbed("argmax", epsilon=1.0, num_samples=1000,
        ...                           noise="gumbel", seed=0)
        >>> po(np.array([0.0, 1.0, 2.0])).round(1)  # ~ softmax([0, 1, 2])
        array([0.1, 0.2, 0.7])
    """
    return Perturbed(solver, epsilon=epsilon, num_samples=num_samples, noise=noise,
                     perturbation=perturbation, seed=seed, n_jobs=n_jobs,
                     warm_start=warm_start, antithetic=antithetic, keep_noise=keep_noise,
                     solver_options=solver_options, sense=sense, ndim=ndim, registry=registry)

