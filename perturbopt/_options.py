"""The options of a perturbed optimizer: one list, validated in one place.

[`perturbopt.perturbed`][perturbopt.perturbed], [`perturbopt.Perturbed`][perturbopt.Perturbed] and every torch module take
these options as keyword arguments and hand them to [`PerturbedOptions`][perturbopt._options.PerturbedOptions], so a new
option is added here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._checks import check_bool, check_choice, check_int, check_number
from ._types import NoiseDType, Perturbation, Sense

__all__ = ["MEMORY_LIMIT_ENV", "PerturbedOptions", "default_memory_limit", "make_options"]

MEMORY_LIMIT_ENV = "PERTURBOPT_MEMORY_LIMIT"
"""Environment variable that sets the default ``memory_limit`` (bytes, or ``"8GiB"``)."""

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1e3,
    "kb": 1e3,
    "kib": 2**10,
    "m": 1e6,
    "mb": 1e6,
    "mib": 2**20,
    "g": 1e9,
    "gb": 1e9,
    "gib": 2**30,
    "t": 1e12,
    "tb": 1e12,
    "tib": 2**40,
}


@dataclass(frozen=True)
class PerturbedOptions:
    """Everything that configures a perturbed optimizer, checked at construction.

    Attributes:
        epsilon: noise scale ``eps > 0``.
        num_samples: number ``M`` of perturbations per instance.
        noise: ``"gaussian"``, ``"gumbel"``, another registered name, or a
            [`perturbopt.Noise`][perturbopt.Noise] object.
        perturbation: ``"additive"`` (``theta + eps Z``) or ``"multiplicative"``
            (``theta * exp(eps Z - log E[e^{eps Z}])``, which is
            ``theta * exp(eps Z - eps^2 / 2)`` for Gaussian noise).
        seed: seeds the keys of the calls' noise (an int, a
            `numpy.random.SeedSequence`, or ``None`` for fresh entropy).
        n_jobs: joblib's meaning: ``None`` is 1 unless ``joblib.parallel_config`` says
            otherwise, ``-1`` all cores, ``-2`` all but one. The calling process counts
            as one of them.
        warm_start: solve ``y*(theta)`` first and pass it as ``hint`` to every solve.
        antithetic: draw pairs ``Z, -Z`` (symmetric noise, even ``num_samples``).
        keep_noise: hold the noise once drawn (default). With ``False`` the result
            holds only the solutions and the noise's key, and redraws the noise block
            by block when an estimator needs it.
        dtype: ``"float64"`` (default) or ``"float32"``: the type in which the noise is
            drawn and the perturbed inputs are built (half the memory, faster draws).
        timeout: seconds one solve may take; an overrun raises
            [`perturbopt.SolverTimeoutError`][perturbopt.SolverTimeoutError]. Solves then run in worker processes,
            even at ``n_jobs=1``, so that a stuck one can be killed.
        isolate: run every solve in a worker process, so that a crash in a solver's
            native code raises [`perturbopt.SolverCrashError`][perturbopt.SolverCrashError] instead of killing
            the caller.
        memory_limit: the most bytes one call may hold (solutions, noise, values);
            default ``PERTURBOPT_MEMORY_LIMIT``, else half the physical memory. An int or
            a string such as ``"16GiB"``; ``0`` means no limit (as in Dask).
        solver_options: options for a registered solver, e.g. ``{"k": 3}`` for topk.
        sense: for a plain function, ``"max"`` (default) or ``"min"``.
        ndim: number of axes of one instance, for solvers that do not say (default 1);
            leading axes beyond it are batch axes.
        registry: where to look up names (default: the installed plugins).
    """

    epsilon: float = 1.0
    num_samples: int = 100
    noise: Any = "gaussian"
    perturbation: Perturbation = "additive"
    seed: Any = None
    n_jobs: int | None = None
    warm_start: bool = False
    antithetic: bool = False
    keep_noise: bool = True
    dtype: NoiseDType = "float64"
    timeout: float | None = None
    isolate: bool = False
    memory_limit: int | None = None
    solver_options: Mapping[str, Any] | None = field(default=None, hash=False)
    sense: Sense | None = None
    ndim: int | None = None
    registry: Any = field(default=None, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(
            self,
            "epsilon",
            check_number(None, "epsilon", self.epsilon, positive=True, meaning="the noise scale"),
        )
        set_(self, "num_samples", check_int(None, "num_samples", self.num_samples, minimum=1))
        if not isinstance(self.noise, str) and not _looks_like_noise(self.noise):
            raise TypeError(
                f"noise must be a registered name ('gaussian', 'gumbel', ...) or a "
                f"Noise object with sample, score and log_mgf, got {self.noise!r}"
            )
        set_(
            self,
            "perturbation",
            check_choice(None, "perturbation", self.perturbation, ("additive", "multiplicative")),
        )
        set_(self, "n_jobs", check_n_jobs(self.n_jobs))
        for name in ("warm_start", "antithetic", "keep_noise", "isolate"):
            set_(self, name, check_bool(None, name, getattr(self, name)))
        set_(self, "dtype", _dtype(self.dtype))
        if self.timeout is not None:
            timeout = check_number(None, "timeout", self.timeout, positive=True, meaning="seconds")
            set_(self, "timeout", timeout)
        if self.memory_limit is not None:
            set_(self, "memory_limit", parse_bytes("memory_limit", self.memory_limit))
        if self.solver_options is not None:
            if not isinstance(self.solver_options, Mapping):
                raise TypeError(
                    f"solver_options must be a dict of the solver's options, got "
                    f"{type(self.solver_options).__name__}"
                )
            set_(self, "solver_options", dict(self.solver_options))
        if self.sense is not None:
            set_(self, "sense", check_choice(None, "sense", self.sense, ("max", "min")))
        if self.ndim is not None:
            if isinstance(self.ndim, bool) or not isinstance(self.ndim, numbers.Integral):
                raise TypeError(f"ndim must be an integer >= 0, got {self.ndim!r}")
            if self.ndim < 0:
                raise ValueError(f"ndim must be >= 0 (the axes of one instance), got {self.ndim}")
            set_(self, "ndim", int(self.ndim))
        if self.antithetic and self.num_samples % 2:
            raise ValueError(f"antithetic pairs need an even num_samples, got {self.num_samples}")

    @property
    def isolated(self) -> bool:
        """Whether every solve must run out of process (``timeout`` or ``isolate``)."""
        return self.isolate or self.timeout is not None

    def replace(self, **changes: Any) -> PerturbedOptions:
        """A copy with some options changed (checked like the originals)."""
        return make_options(**{**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        """The options as keyword arguments."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


_OPTION_NAMES = tuple(f.name for f in dataclasses.fields(PerturbedOptions))


def make_options(**options: Any) -> PerturbedOptions:
    """[`PerturbedOptions`][perturbopt._options.PerturbedOptions] from keyword arguments, with a clear error for a
    misspelled option or for a solver's option passed at the top level.

    Example:
        >>> make_options(k=3)
        Traceback (most recent call last):
        ...
        TypeError: unknown option 'k'. Solver options go in solver_options={'k': ...}. The options are: epsilon, num_samples, noise, perturbation, seed, n_jobs, warm_start, antithetic, keep_noise, dtype, timeout, isolate, memory_limit, solver_options, sense, ndim, registry
    """
    unknown = [name for name in options if name not in _OPTION_NAMES]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, _OPTION_NAMES, n=1)
        if close:
            hint = f"; did you mean {close[0]!r}?"
        else:
            solver_options = ", ".join(f"{n!r}: ..." for n in unknown)
            hint = f". Solver options go in solver_options={{{solver_options}}}."
        raise TypeError(
            f"unknown option {name!r}{hint} The options are: {', '.join(_OPTION_NAMES)}"
        )
    return PerturbedOptions(**options)


def _looks_like_noise(noise: Any) -> bool:
    return all(callable(getattr(noise, m, None)) for m in ("sample", "score", "log_mgf"))


def _dtype(value: Any) -> NoiseDType:
    try:
        dtype = np.dtype(value)
    except TypeError:
        dtype = None
    if dtype == np.float64:
        return "float64"
    if dtype == np.float32:
        return "float32"
    raise ValueError(f"dtype must be 'float64' or 'float32', got {value!r}")


def check_n_jobs(n_jobs: Any) -> int | None:
    """``n_jobs`` in joblib's meaning: ``None``, or an int other than 0 that names at least
    one worker on this machine (``-1`` all cores, ``-2`` all but one, ...)."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be an integer (-1 for all cores) or None, got {n_jobs!r}")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError(
            "n_jobs=0 names no worker; use n_jobs=1 (no parallelism), a number of "
            "workers, or -1 for all cores"
        )
    cores = os.cpu_count() or 1
    if n_jobs < 0 and cores + 1 + n_jobs < 1:
        raise ValueError(
            f"n_jobs={n_jobs} asks for all but {-n_jobs - 1} of this machine's "
            f"{cores} cores, which leaves none; use n_jobs=-1 for all cores"
        )
    return n_jobs


def parse_bytes(name: str, value: Any) -> int:
    """A number of bytes from an int or a string such as ``"16GiB"``: ``0`` (no limit),
    or at least 1 (a fraction of a byte counts as 1)."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9.]+(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise ValueError(
                f"{name} must be a number of bytes such as 8000000000 or '8GiB', got {value!r}"
            )
        count = float(match.group(1)) * _UNITS[unit]
        return 0 if count == 0 else max(1, int(count))
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a number of bytes (an int or a string such as '8GiB'), got {value!r}"
        )
    if not float(value) >= 0:
        raise ValueError(f"{name} must be a number of bytes >= 0 (0 for no limit), got {value!r}")
    return 0 if float(value) == 0 else max(1, int(float(value)))


def default_memory_limit() -> int:
    """``PERTURBOPT_MEMORY_LIMIT`` if set (``0``: no limit), else half of the machine's
    physical memory."""
    configured = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if configured:
        return parse_bytes(MEMORY_LIMIT_ENV, configured)
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        physical = 16 * 2**30
    return int(physical // 2)
