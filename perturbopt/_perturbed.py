"""``perturbed(...)``: a solver, noise and sample count bundled into one object.

The data path of a call runs one way: validate ``theta`` (a private read-only copy) ->
draw the noise plan (a key and a block layout) -> the engine solves every perturbed row
-> a [`PerturbedResult`][perturbopt._perturbed.PerturbedResult] holds the solutions, their values and the plan, from
which every estimator is computed.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ._engine import (
    EngineFailure,
    NoiseKey,
    NoisePlan,
    PerturbedRows,
    PlainRows,
    RunOptions,
    SolverSpec,
    solve,
)
from ._estimators import PerturbedResult
from ._failures import raise_failure
from ._forks import ForkSafeLock
from ._noise import Noise
from ._options import PerturbedOptions, default_memory_limit, make_options
from ._registry import Registry
from ._solver import (
    FunctionSolver,
    check_solver,
    expected_output_shape,
    has_features,
    objective_terms,
    solver_name,
    solver_ndim,
)
from ._types import Sense
from ._validation import as_float_array, check_memory, check_nonzero, split_batch

__all__ = ["Perturbed", "perturbed", "solve_unperturbed"]


class Perturbed:
    """A black-box solver made into a perturbed optimizer (Berthet et al., 2020).

    ``y_eps(theta) = E[y*(theta + eps Z)]`` and ``F_eps(theta) = E[max_y <y, theta + eps Z>]``
    (``min`` for ``sense="min"``), estimated from ``num_samples`` draws of ``Z``.
    Build it with [`perturbed`][perturbopt._perturbed.perturbed], which documents the arguments; the options are
    those of [`perturbopt.PerturbedOptions`][perturbopt.PerturbedOptions].

    One object may be used from many threads at once, and survives ``os.fork()``
    (see ``docs/parallel.md``).

    Attributes:
        options: the checked options.
        solver: the solver as given, or as built from its name. Solves run on a copy
            taken when the object was built: changing ``solver`` afterwards changes no
            solve (build a new ``perturbed()`` instead). Plain functions and solvers
            that do not pickle are used as they are.
        noise: the noise distribution.
        sense: ``"max"`` or ``"min"``, the solver's.
    """

    def __init__(self, solver: Any, **options: Any) -> None:
        self.options: PerturbedOptions = make_options(**options)
        registry = self.options.registry or Registry.default()
        self.noise: Noise = _resolve_noise(self.options.noise, registry)
        opts = self.options
        self._shift = (
            self.noise.log_mgf(opts.epsilon) if opts.perturbation == "multiplicative" else None
        )
        if opts.antithetic and not self.noise.symmetric:
            raise ValueError(
                f"antithetic pairs need a symmetric noise (Z and -Z alike); "
                f"{self.noise.name!r} is not: use noise='gaussian'"
            )
        self._spec = _resolve_solver(solver, opts, registry)
        self.solver: Any = self._spec.solver
        self.sense: Sense = self.solver.sense
        self._ndim = _instance_ndim(self.solver, opts.ndim)
        shape = getattr(self.solver, "shape", None)
        self._shape = None if shape is None else tuple(shape)
        kind = "function" if isinstance(self.solver, FunctionSolver) else "solver"
        self._owner = f"{kind} {solver_name(self.solver)!r}"
        self._keys = _seed_sequence(opts.seed)
        self._keys_lock = ForkSafeLock()

    def __getattr__(self, name: str) -> Any:
        # The options, read-only: po.epsilon, po.num_samples, po.n_jobs, ...
        options = self.__dict__.get("options")
        if options is not None and name in PerturbedOptions.__dataclass_fields__:
            return getattr(options, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        o = self.options
        return (
            f"Perturbed({solver_name(self.solver)!r}, epsilon={o.epsilon}, "
            f"num_samples={o.num_samples}, noise={self.noise.name!r}, "
            f"perturbation={o.perturbation!r}, n_jobs={o.n_jobs})"
        )

    # -- solving -----------------------------------------------------------------------

    def _prepare(self, theta: Any) -> tuple[np.ndarray, tuple[int, ...]]:
        batch, batch_shape = split_batch(
            as_float_array(theta, "theta"), self._ndim, self._shape, solver_name(self.solver)
        )
        if self._shift is not None:
            check_nonzero(batch, batch_shape)
        return batch, batch_shape

    def _run(self) -> RunOptions:
        o = self.options
        return RunOptions(o.n_jobs, o.timeout, o.isolated)

    def _key(self, seed: Any) -> NoiseKey:
        """The next call's key; for an explicit ``seed``, the key of the first call of an
        object seeded with it (so ``po.solve(theta, seed=s)`` draws what
        ``perturbed(..., seed=s).solve(theta)`` draws)."""
        if seed is not None:
            sequence = _seed_sequence(seed)
            return NoiseKey(
                NoiseKey.from_seed_sequence(sequence).entropy, tuple(sequence.spawn_key) + (0,)
            )
        with self._keys_lock:
            return NoiseKey.from_seed_sequence(self._keys.spawn(1)[0])

    def solve(self, theta: Any, *, seed: Any = None) -> PerturbedResult:
        """Solve ``num_samples`` perturbed copies of each instance of ``theta``.

        Args:
            theta: one instance ``(*s)`` or a batch ``(*b, *s)`` with any number of
                leading batch axes.
            seed: seeds this call's noise alone (an int or a SeedSequence), for common
                random numbers: it draws what the first call of an object built with
                ``seed=seed`` draws. By default each call takes the next key from the
                object's seeded sequence.

        Returns:
            A [`PerturbedResult`][perturbopt._perturbed.PerturbedResult] with ``mean``, ``value``, ``stderr``,
            ``samples``, ``vjp(g)``, ``jacobian()``.

        Raises:
            SolverError: a solver failed (with the sample and batch item); see
                [`perturbopt.perturbed`][perturbopt.perturbed] for the subclasses.
            MemoryLimitError: the call would hold more than ``memory_limit`` bytes.
        """
        batch, batch_shape = self._prepare(theta)
        o = self.options
        plan = NoisePlan(
            self.noise,
            self._key(seed),
            o.epsilon,
            self._shift,
            o.dtype,
            o.antithetic,
            o.num_samples,
            batch.shape[0],
            tuple(batch.shape[1:]),
        )
        self._check_memory(plan)
        run = self._run()
        name = solver_name(self.solver)
        hints = solve_unperturbed(self._spec, batch, batch_shape, run) if o.warm_start else None
        try:
            solved = solve(
                self._spec, PerturbedRows(batch, plan), hints, run, keep_noise=o.keep_noise
            )
        except EngineFailure as failure:
            raise_failure(
                failure,
                name,
                batch_shape,
                perturbed=True,
                describe=functools.partial(plan.describe_row, batch),
            )
        return PerturbedResult(
            theta=batch,
            batch_shape=batch_shape,
            plan=plan,
            solutions=solved.solutions,
            values=solved.values,
            sense=self.sense,
            keep_noise=o.keep_noise,
            noise_cache=solved.noise,
            known_hard=hints,
            n_jobs=o.n_jobs,
            unperturbed=functools.partial(solve_unperturbed, self._spec, batch, batch_shape, run),
            memory_limit=self._memory_limit(),
            features=self._feature_map(tuple(batch.shape[1:])),
            owner=self._owner,
        )

    def _feature_map(self, instance_shape: tuple[int, ...]) -> Any:
        """``g`` on a stack of solutions, for a generalized maximizer; else ``None``."""
        if not has_features(self.solver):
            return None
        solver = self.solver
        return lambda solutions: objective_terms(solver, solutions, instance_shape)[0]

    def __call__(self, theta: Any, *, seed: Any = None) -> np.ndarray:
        """The perturbed solution ``y_eps(theta)`` alone."""
        return self.solve(theta, seed=seed).mean

    def hard(self, theta: Any) -> np.ndarray:
        """``y*(theta)``, the unperturbed solution, float64 ``(*b, *out)`` (theta's
        shape for a solver)."""
        batch, batch_shape = self._prepare(theta)
        solution = solve_unperturbed(self._spec, batch, batch_shape, self._run())
        return solution.reshape(batch_shape + solution.shape[1:])

    def _memory_limit(self) -> int | None:
        """The most bytes a call may hold, ``None`` for no limit (a limit of 0)."""
        limit = self.options.memory_limit
        if limit is None:
            limit = default_memory_limit()
        return limit or None

    def _check_memory(self, plan: NoisePlan) -> None:
        out = expected_output_shape(self.solver, plan.instance_shape)
        numbers = plan.num_rows * (plan.row_size if out is None else math.prod(out))
        parts = {
            "solutions (up to 8 bytes a number)": numbers * 8,
            "values": plan.num_rows * 8,
            "noise": (
                plan.drawn_rows * plan.row_size * np.dtype(plan.np_dtype).itemsize
                if self.options.keep_noise
                else 0
            ),
        }
        check_memory(
            parts,
            self._memory_limit(),
            "use keep_noise=False (the noise is then redrawn block by block), fewer "
            "samples (num_samples) or smaller batches",
        )


def solve_unperturbed(
    spec: SolverSpec, theta: np.ndarray, batch_shape: tuple[int, ...], run: RunOptions
) -> np.ndarray:
    """``y*(theta)`` for each instance of a batch ``(B, *s)``, float64 (read-only)."""
    try:
        solved = solve(spec, PlainRows(theta), None, run)
    except EngineFailure as failure:
        raise_failure(failure, spec.name, batch_shape, perturbed=False)
    solution = solved.solutions.astype(np.float64)
    solution.flags.writeable = False
    return solution


def _seed_sequence(seed: Any) -> np.random.SeedSequence:
    """A SeedSequence from an int, a sequence of ints, a SeedSequence, a Generator (its
    next draws) or ``None`` (fresh entropy)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    if isinstance(seed, np.random.BitGenerator):
        return _seed_sequence(np.random.Generator(seed))
    try:
        return np.random.SeedSequence(seed)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"seed must be None, a non-negative int, a sequence of them, a "
            f"numpy SeedSequence or Generator; got {seed!r}"
        ) from error


def _resolve_noise(noise: Any, registry: Registry) -> Noise:
    if isinstance(noise, str):
        return registry.get_noise(noise)  # type: ignore[no-any-return]
    return noise  # type: ignore[no-any-return]


def _resolve_solver(solver: Any, options: PerturbedOptions, registry: Registry) -> SolverSpec:
    solver_options = dict(options.solver_options or {})
    if isinstance(solver, str):
        entry = registry.solver_entry(solver)
        factory = entry.factory
        try:
            instance = entry.build(**solver_options)
        except TypeError as error:
            raise TypeError(
                f"could not build solver {solver!r} with solver_options={solver_options}: {error}"
            ) from error
        if getattr(instance, "name", None) is None:
            try:
                instance.name = solver
            except AttributeError:  # pragma: no cover - slotted or frozen solvers
                pass
        check_solver(instance)
        _check_sense(instance, options.sense)
        return SolverSpec(instance, recipe=(factory, solver_options))
    if isinstance(solver, Perturbed):
        raise TypeError(
            "perturbed() takes a solver, not a Perturbed object: pass the solver "
            "it wraps (its .solver attribute) with the options you want"
        )
    if solver_options:
        raise TypeError(
            "solver_options apply to registered solver names only; "
            "configure a solver object or function yourself"
        )
    if not hasattr(solver, "solve") and not hasattr(solver, "solve_batch") and callable(solver):
        solver = FunctionSolver(
            solver, sense=options.sense or "max", ndim=1 if options.ndim is None else options.ndim
        )
    check_solver(solver)
    _check_sense(solver, options.sense)
    return SolverSpec(solver)


def _check_sense(solver: Any, sense: str | None) -> None:
    if sense is not None and sense != solver.sense:
        raise ValueError(
            f"sense={sense!r} was asked for, but solver {solver_name(solver)!r} "
            f"has sense={solver.sense!r}; leave sense out for solver objects"
        )


def _instance_ndim(solver: Any, ndim: int | None) -> int:
    """The axes of one instance: the solver's, unless it says nothing and ``ndim`` does."""
    declares = (
        getattr(solver, "shape", None) is not None or getattr(solver, "ndim", None) is not None
    )
    own = solver_ndim(solver)
    if ndim is None:
        return own
    if declares and ndim != own:
        raise ValueError(
            f"ndim={ndim} contradicts solver {solver_name(solver)!r}, whose "
            f"instances have {own} axes; leave ndim out for this solver"
        )
    return ndim


def perturbed(solver: Any, **options: Any) -> Perturbed:
    """Make a solver differentiable by random perturbation.

    ``y_eps(theta) = E[y*(theta + eps Z)]`` is a smooth function of ``theta`` whose
    Jacobian is ``E[y*(theta + eps Z) grad nu(Z)^T] / eps`` (Berthet et al., 2020).

    Args:
        solver: a registered name (``"argmax"``, ``"ortools.assignment"``, ...), an
            object with ``sense`` and ``solve``, or a plain function ``theta -> y``.
        **options: the options of [`perturbopt.PerturbedOptions`][perturbopt.PerturbedOptions]: ``epsilon``,
            ``num_samples``, ``noise``, ``perturbation``, ``seed``, ``n_jobs``,
            ``warm_start``, ``antithetic``, ``keep_noise``, ``dtype``, ``timeout``,
            ``isolate``, ``memory_limit``, ``solver_options``, ``sense``, ``ndim``,
            ``registry``. Each is checked here, with an error naming it.

    Returns:
        A [`Perturbed`][perturbopt._perturbed.Perturbed]: ``po(theta)`` is the perturbed solution and
        ``po.solve(theta)`` a [`PerturbedResult`][perturbopt._perturbed.PerturbedResult] with all the estimators.

    Raises at solve time:
        SolverError: a solver raised (sample and batch item named, its exception as the
            cause); SolverContractError: a bad output; SolverTimeoutError: a solve ran
            past ``timeout``; SolverCrashError: a worker process died;
            MemoryLimitError: the call would hold more than ``memory_limit``.

    Example:
        >>> import numpy as np, perturbopt
        >>> po = perturbopt.perturbed("argmax", epsilon=1.0, num_samples=4000,
        ...                           noise="gumbel", seed=0)
        >>> theta = np.array([0.0, 1.0, 2.0])
        >>> y = po(theta)  # ~ softmax(theta) = [0.09, 0.24, 0.67], within a few 0.007
        >>> bool(np.abs(y - np.exp(theta) / np.exp(theta).sum()).max() < 0.03)
        True
    """
    return Perturbed(solver, **options)
