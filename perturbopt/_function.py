"""``perturbed_function``: smooth any function of an array, of any output shape.

``f_eps(theta) = E[f(theta + eps Z)]`` is smooth even where ``f`` is piecewise constant
(a sign, an argmax, a logical or), with Jacobian
``E[f(theta + eps Z) grad nu(Z)^T] / eps`` of shape ``(*out, *s)`` (Berthet et al.,
2020, Prop. 3.1, which needs nothing of ``f`` but its values). It is
[`perturbopt.perturbed`][perturbopt.perturbed] for a plain function whose output need not have
``theta``'s shape, usable as a decorator as the authors' ``perturbations.perturbed``
and optax's ``make_perturbed_fun`` are.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._perturbed import Perturbed, perturbed
from ._solver import AUTO, FunctionSolver

__all__ = ["perturbed_function"]


def perturbed_function(
    function: Any = None,
    /,
    *,
    batched: bool = False,
    ndim: int | None = None,
    out_shape: Any = AUTO,
    **options: Any,
) -> Any:
    """Smooth ``function`` by random perturbation: ``f_eps(theta) = E[f(theta + eps Z)]``.

    ``f`` may return any shape (a scalar per instance, a vector of another length, a
    matrix): ``po(theta)`` is ``f_eps(theta)`` ``(*b, *out)``, ``po.solve(theta)`` a
    [`perturbopt.PerturbedResult`][perturbopt.PerturbedResult] with its standard error, ``vjp(g)`` (``g`` of
    the output's shape), ``jvp(v)`` and ``jacobian()`` ``(*b, *out, *s)``, from
    ``E[f(theta + eps Z) grad nu(Z)^T] / eps`` with the baselines ``"loo"``,
    ``"control"`` and ``"none"``. It runs on the engine of [`perturbopt.perturbed`][perturbopt.perturbed]
    (parallel, timeouts, isolation, the same noise for the same seed whatever
    ``n_jobs``). ``F_eps`` (``value``) needs ``<f, theta>`` and is refused when the
    output is not of ``theta``'s shape.

    Use it with or without arguments::

        @perturbopt.perturbed_function(epsilon=0.1, num_samples=1000)
        def any_positive(theta): ...

        smooth = perturbopt.perturbed_function(np.sign, epsilon=0.5)

    Args:
        function: ``f(theta) -> y``, numpy in, array-like out, for one instance
            ``(*s)``; with ``batched=True`` for a stack ``(n, *s)``, returning
            ``(n, *out)``. A solver object or registered name is handed to
            [`perturbopt.perturbed`][perturbopt.perturbed] as it is. Left out, the call returns a
            decorator.
        batched: whether ``function`` takes a stack of instances (faster: one call per
            chunk of perturbed inputs instead of one per input).
        ndim: number of axes of one instance (default 1): ``theta`` with more axes is a
            batch of instances.
        out_shape: the shape of one output: ``"auto"`` (default: whatever the first
            output has; every other output must have it too), a tuple, a callable from
            the instance shape to the output shape, or ``None`` for ``theta``'s shape.
        **options: the options of [`perturbopt.perturbed`][perturbopt.perturbed] (``epsilon``,
            ``num_samples``, ``noise``, ``perturbation``, ``seed``, ``n_jobs``, ...).
            ``sense`` is ``"max"`` unless given (it matters only for ``F_eps``).

    Returns:
        A [`perturbopt.Perturbed`][perturbopt.Perturbed] (callable, with ``.solve``), or a decorator that
        makes one.

    Example:
        >>> import numpy as np, perturbopt
        >>> @perturbopt.perturbed_function(epsilon=0.5, num_samples=20000, seed=0)
        ... def any_positive(theta):          # R^3 -> one sign
        ...     return 1.0 if (theta > 0).any() else -1.0
        >>> theta = np.array([-1.0, -2.0, 0.1])
        >>> result = any_positive.solve(theta)
        >>> result.mean.shape, result.jacobian().shape
        ((), (3,))
        >>> bool(result.mean > 0), int(np.argmax(result.vjp(1.0)))  # entry 2 decides
        (True, 2)
    """
    if function is None:
        return functools.partial(
            perturbed_function, batched=batched, ndim=ndim, out_shape=out_shape, **options
        )
    if isinstance(function, str) or hasattr(function, "solve") or hasattr(function, "solve_batch"):
        if batched or out_shape != AUTO:
            raise TypeError(
                "batched and out_shape describe plain functions; a solver says them "
                "itself (solve_batch, output_shape)"
            )
        if ndim is not None:
            options["ndim"] = ndim
        return perturbed(function, **options)
    if not callable(function):
        raise TypeError(
            f"perturbed_function needs a callable, a solver or a registered name; got "
            f"{type(function).__name__}"
        )
    solver = FunctionSolver(
        function,
        sense=options.pop("sense", None) or "max",
        ndim=1 if ndim is None else ndim,
        batched=batched,
        out_shape=out_shape,
    )
    return _wrapped(perturbed(solver, **options), function)


def _wrapped(po: Perturbed, function: Callable[..., Any]) -> Perturbed:
    """``po`` carrying ``function``'s name and docstring, as a decorator's result should."""
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        value = getattr(function, attribute, None)
        if value is not None:
            try:
                setattr(po, attribute, value)
            except (AttributeError, TypeError):  # pragma: no cover - read-only attributes
                pass
    po.__wrapped__ = function  # type: ignore[attr-defined]
    return po
