"""The plugin toolkit: the checks and conventions that every solver plugin shares.

A solver plugin validates its options once, at construction, and ``theta`` at every
solve. This module gives those checks one behaviour across plugins:

* every message starts with ``solver 'name': `` and says which input is wrong and
  what to do about it;
* a value of the wrong type raises `TypeError`, a value of the right type but
  out of range raises `ValueError`;
* a solve that ends without a usable answer raises [`StatusError`][perturbopt.plugin.StatusError].

It imports only numpy, the standard library and the core's option checks (one family
with the core's own), errors, types, hook marker and registry entries (re-exported here:
``hookimpl``, ``ENTRY_POINT_GROUP``, ``RegisteredEntry``), so any plugin, and the core
itself, can use it without cycles. Its test kit for plugin authors is
[perturbopt.plugin.testing][].

Example:
    >>> import numpy as np
    >>> from perturbopt import plugin
    >>> plugin.check_sense("my.solver", "max")
    'max'
    >>> plugin.check_instance("my.solver", [[1, 2], [3, 4]], shape=(2, 2))
    array([[1., 2.],
           [3., 4.]])
    >>> plugin.check_nonnegative("my.solver", np.array([2.0, -1.0]), negative_costs="clip")
    array([2., 0.])
"""

from __future__ import annotations

import importlib
import math
import numbers
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Literal, SupportsInt

import numpy as np

from .._checks import check_bool, check_choice, check_int, check_number, message
from .._errors import PerturbOptError
from .._hookspecs import ENTRY_POINT_GROUP, hookimpl
from .._registry import RegisteredEntry
from .._types import Sense

__all__ = [
    "DEFAULT_NEGATIVE_COSTS",
    "ENTRY_POINT_GROUP",
    "NEGATIVE_COSTS",
    "NegativeCosts",
    "RegisteredEntry",
    "Sense",
    "StatusError",
    "check_bool",
    "check_choice",
    "check_edges",
    "check_instance",
    "check_int",
    "check_negative_costs",
    "check_node",
    "check_nonnegative",
    "check_number",
    "check_sense",
    "check_shape",
    "check_stack",
    "format_index",
    "hookimpl",
    "lazy_attributes",
    "message",
    "warn_deprecated",
]

NegativeCosts = Literal["clip", "error", "allow"]
"""What a cost solver does with a negative cost, the option ``negative_costs`` of every
solver that takes costs (see [check_nonnegative][perturbopt.plugin.check_nonnegative]):

* ``"clip"`` (the default everywhere): solve ``y*(max(theta, 0))``, negative costs
  counting as 0;
* ``"error"``: raise ``ValueError`` naming the first negative entry;
* ``"allow"``: hand negative costs to the algorithm as they are, only for solvers whose
  algorithm takes costs of any sign (the others refuse this value).

Why ``"clip"`` is the default: a perturbed solver sees ``theta + eps Z``, which is
negative with positive probability whatever ``theta`` is, and additive noise with
clipping is what the docs recommend for positive costs (multiplicative noise makes the
Fenchel-Young loss 1-homogeneous, so training can shrink ``theta`` to 0). With
``"error"`` as the default, that recommended setup would fail at random samples. Clipping
changes nothing on non-negative costs.
"""

NEGATIVE_COSTS: tuple[str, ...] = ("clip", "error", "allow")
"""The values of [NegativeCosts][perturbopt.plugin.NegativeCosts], in one order everywhere."""

DEFAULT_NEGATIVE_COSTS: NegativeCosts = "clip"
"""The default of ``negative_costs`` in every solver that has the option."""


class StatusError(PerturbOptError, RuntimeError):
    """A solve ended with a status that gives no usable (optimal) solution.

    Plugins raise it, or a subclass of it, for an infeasible or unbounded instance, a
    limit reached, a solver failure. Inside ``perturbed(...)`` it arrives as the
    ``__cause__`` of a [`perturbopt.SolverError`][perturbopt.SolverError] that also names the sample.

    Args:
        solver: the registry name of the solver.
        status: the solver library's name for the status (``"INFEASIBLE"``, ...).
        detail: what it means for this instance and what to do about it.

    Attributes:
        solver: as given.
        status: as given.
        detail: as given.

    Example:
        >>> error = StatusError("ortools.cp_sat", "INFEASIBLE", "check the constraints")
        >>> str(error)
        "solver 'ortools.cp_sat': ended with status INFEASIBLE: check the constraints"
    """

    def __init__(self, solver: str, status: str, detail: str) -> None:
        super().__init__(message(solver, f"ended with status {status}: {detail}"))
        self.solver = solver
        self.status = status
        self.detail = detail

    def __reduce__(self) -> tuple[type[StatusError], tuple[str, str, str]]:
        # Errors travel back from worker processes: rebuild from the three fields.
        return type(self), (self.solver, self.status, self.detail)


def format_index(index: tuple[SupportsInt, ...] | SupportsInt) -> str:
    """An array index as it is written in Python: ``(3, 1)`` -> ``"[3, 1]"``.

    Example:
        >>> "theta" + format_index((3, 1))
        'theta[3, 1]'
    """
    if not isinstance(index, tuple):
        index = (index,)
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def warn_deprecated(solver: str, old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that option ``old`` is deprecated in favour of ``new``.

    Args:
        solver: the registry name of the solver.
        old: the old spelling, as the user wrote it (``"maximize=True"``).
        new: what to write instead (``"sense='max'"``).
        stacklevel: as in `warnings.warn`, counted from this function: the
            default 3 points at the code that called the function that calls it (the
            user's call of a solver's ``__init__``).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_deprecated("scipy.assignment", "maximize=True", "sense='max'")
        >>> print(caught[0].message)
        solver 'scipy.assignment': maximize=True is deprecated; pass sense='max' instead
    """
    warnings.warn(
        message(solver, f"{old} is deprecated; pass {new} instead"),
        DeprecationWarning,
        stacklevel=stacklevel,
    )


# --- options ------------------------------------------------------------------------


def check_sense(solver: str, sense: Any) -> Sense:
    """``sense`` if it is ``"max"`` or ``"min"``.

    Raises:
        TypeError: ``sense`` is not a string.
        ValueError: any other string.

    Example:
        >>> check_sense("my.solver", "maximize")
        Traceback (most recent call last):
        ...
        ValueError: solver 'my.solver': sense must be 'max' or 'min', got 'maximize'
    """
    return check_choice(solver, "sense", sense, ("max", "min"))  # type: ignore[return-value]


def check_shape(
    solver: str, option: str, value: Any, *, ndim: int | None = None, at_least: int = 1
) -> tuple[int, ...]:
    """``value`` as a tuple of positive integers with ``ndim`` entries, whose product
    (the number of entries of an array of that shape) is at least ``at_least``.

    Raises:
        TypeError: not a sequence of integers.
        ValueError: the wrong number of entries, an entry below 1, too few entries.

    Example:
        >>> check_shape("my.solver", "shape", [3, 4], ndim=2)
        (3, 4)
        >>> check_shape("my.solver", "grid", (1, 1), ndim=2, at_least=2)
        Traceback (most recent call last):
        ...
        ValueError: solver 'my.solver': grid=(1, 1) has 1 entry; it needs at least 2
    """
    what = (
        "a pair of positive integers (rows, cols)"
        if ndim == 2
        else f"a tuple of {ndim} positive integers"
        if ndim is not None
        else "a tuple of positive integers"
    )
    try:
        entries = tuple(value)
    except TypeError:
        raise TypeError(message(solver, f"{option} must be {what}, got {value!r}")) from None
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in entries):
        raise TypeError(message(solver, f"{option} must be {what}, got {value!r}"))
    if (ndim is not None and len(entries) != ndim) or not all(n >= 1 for n in entries):
        raise ValueError(message(solver, f"{option} must be {what}, got {value!r}"))
    shape = tuple(int(n) for n in entries)
    size = math.prod(shape)
    if size < at_least:
        raise ValueError(
            message(
                solver,
                f"{option}={value!r} has {size} "
                f"entr{'y' if size == 1 else 'ies'}; it needs at "
                f"least {at_least}",
            )
        )
    return shape


# --- theta ---------------------------------------------------------------------------


def check_instance(
    solver: str,
    theta: Any,
    *,
    shape: tuple[int, ...] | None = None,
    ndim: int | None = None,
    what: str | None = None,
) -> np.ndarray:
    """One instance ``theta`` as a float64 array, of ``shape`` (or with ``ndim`` axes).

    The array is ``theta`` itself when it is float64 already: solvers must not write
    into it (the engine passes read-only arrays).

    Args:
        solver: the registry name of the solver.
        theta: one instance.
        shape: the exact shape it must have, if the solver fixes one.
        ndim: otherwise, its number of axes, if fixed.
        what: what one entry of ``theta`` is, for the message (``"one cost per edge"``).

    Raises:
        ValueError: a wrong shape.

    Example:
        >>> check_instance("my.solver", [1.0, 2.0, 3.0], shape=(2,), what="one cost per edge")
        Traceback (most recent call last):
        ...
        ValueError: solver 'my.solver': theta has shape (3,), but this solver takes instances of shape (2,) (one cost per edge)
    """
    array = np.asarray(theta, dtype=np.float64)
    described = f" ({what})" if what else ""
    if shape is not None and array.shape != tuple(shape):
        raise ValueError(
            message(
                solver,
                f"theta has shape {array.shape}, but this solver "
                f"takes instances of shape {tuple(shape)}{described}",
            )
        )
    if shape is None and ndim is not None and array.ndim != ndim:
        raise ValueError(
            message(
                solver,
                f"theta has shape {array.shape}, but this solver "
                f"takes instances with {ndim} "
                f"ax{'is' if ndim == 1 else 'es'}{described}",
            )
        )
    return array


def check_stack(
    solver: str,
    thetas: Any,
    *,
    shape: tuple[int, ...] | None = None,
    ndim: int | None = None,
    what: str | None = None,
) -> np.ndarray:
    """A stack ``(n, *instance_shape)`` of instances, for ``solve_batch``, as float64.

    Each instance is checked as by [`check_instance`][perturbopt.plugin.check_instance].

    Raises:
        ValueError: not a stack, or instances of the wrong shape.

    Example:
        >>> check_stack("my.solver", np.zeros((5, 2, 2)), ndim=2).shape
        (5, 2, 2)
    """
    array = np.asarray(thetas, dtype=np.float64)
    if shape is not None:
        expected = f"(n, {', '.join(str(n) for n in shape)})"
        fits = array.shape[1:] == tuple(shape)
    else:
        expected = "(n, *instance_shape)" if ndim is None else f"(n, ...) with {ndim + 1} axes"
        fits = array.ndim >= 1 and (ndim is None or array.ndim == ndim + 1)
    if array.ndim == 0 or not fits:
        described = f" ({what})" if what else ""
        raise ValueError(
            message(
                solver,
                f"solve_batch takes a stack of instances of shape "
                f"{expected}{described}, got shape {array.shape}",
            )
        )
    return array


def check_negative_costs(solver: str, value: Any, *, takes_negative: bool = False) -> NegativeCosts:
    """The option ``negative_costs`` of a cost solver, checked.

    Args:
        solver: the registry name of the solver.
        value: what the user passed: ``"clip"``, ``"error"`` or ``"allow"``.
        takes_negative: whether the solver's algorithm takes costs of any sign (min cost
            flow does, Dijkstra and max flow do not); ``"allow"`` is refused otherwise.

    Raises:
        TypeError: not a string.
        ValueError: another string, or ``"allow"`` for a solver that needs
            non-negative costs.

    Example:
        >>> check_negative_costs("my.dijkstra", "allow")
        Traceback (most recent call last):
        ...
        ValueError: solver 'my.dijkstra': negative_costs='allow' hands negative costs to an algorithm that needs non-negative ones; pass negative_costs='clip' (the default: negative costs count as 0) or 'error'
    """
    choice = check_choice(solver, "negative_costs", value, NEGATIVE_COSTS)
    if choice == "allow" and not takes_negative:
        raise ValueError(
            message(
                solver,
                "negative_costs='allow' hands negative costs to an algorithm that needs "
                "non-negative ones; pass negative_costs='clip' (the default: negative costs "
                "count as 0) or 'error'",
            )
        )
    return choice  # type: ignore[return-value]


def check_nonnegative(
    solver: str,
    theta: np.ndarray,
    *,
    negative_costs: NegativeCosts = DEFAULT_NEGATIVE_COSTS,
    what: str = "costs",
    where: Callable[[tuple[int, ...]], str] | None = None,
) -> np.ndarray:
    """``theta`` for a solver that needs non-negative costs (Dijkstra, max flow, ...).

    With ``negative_costs="clip"`` (default) the solver solves ``y*(max(theta, 0))``:
    costs below zero count as zero. That is the option to use with additive noise on
    positive costs, ``theta + eps Z``, whose entries near zero often turn negative. It
    changes nothing where ``theta + eps Z >= 0``; and since ``y*(max(theta, 0))`` is a
    bounded function of ``theta``, the perturbed solution ``E[y*(max(theta + eps Z, 0))]``
    is smooth and its Jacobian is given by the same formula, ``E[y* grad nu(Z)^T] / eps``
    (it holds for any bounded black box). With ``"error"`` a negative entry raises;
    ``"allow"`` returns ``theta`` unchanged.

    Args:
        solver: the registry name of the solver.
        theta: float64 costs (never written to: a clipped copy is returned).
        negative_costs: ``"clip"``, ``"error"`` or ``"allow"``.
        what: what the entries are, for the message (``"edge lengths"``).
        where: turns the index of the first negative entry into a description for
            the message (``lambda i: f"edge {edges[i[0]]}"``).

    Returns:
        ``theta`` itself when no entry is negative (or with ``"allow"``), else
        ``max(theta, 0)`` (``"clip"``).

    Raises:
        ValueError: a negative entry with ``negative_costs="error"``; the message names
            the first one.

    Example:
        >>> check_nonnegative("my.solver", np.array([1.0, -0.5]), negative_costs="error",
        ...                   what="edge lengths")
        Traceback (most recent call last):
        ...
        ValueError: solver 'my.solver': edge lengths must be non-negative, but theta[1] = -0.5; pass negative_costs='clip' (the default) to count negative costs as 0 (the way to use additive noise on positive costs)
    """
    if negative_costs == "allow":
        return theta
    negative = theta < 0
    if not negative.any():
        return theta
    if negative_costs == "clip":
        return np.maximum(theta, 0.0)
    index = tuple(int(i) for i in np.argwhere(negative)[0])
    located = f" ({where(index)})" if where is not None else ""
    raise ValueError(
        message(
            solver,
            f"{what} must be non-negative, but "
            f"theta{format_index(index)} = {theta[index]:.6g}"
            f"{located}; pass negative_costs='clip' (the default) to count "
            "negative costs as 0 (the way to use additive noise on positive costs)",
        )
    )


# --- graphs --------------------------------------------------------------------------


def check_edges(solver: str, edges: Any, num_nodes: Any = None) -> tuple[np.ndarray, int]:
    """An edge list of a graph on the nodes ``0 .. num_nodes - 1``.

    ``theta[k]`` of a graph solver belongs to ``edges[k]``; edges are directed pairs
    ``(tail, head)`` unless the solver says otherwise.

    Args:
        solver: the registry name of the solver.
        edges: ``(tail, head)`` pairs or an ``(E, 2)`` integer array, ``E >= 1``.
        num_nodes: the number of nodes; ``None`` for ``max(edges) + 1``.

    Returns:
        ``(edges, num_nodes)``: an int64 ``(E, 2)`` array and an ``int``.

    Raises:
        TypeError: edges that are not integer pairs, a ``num_nodes`` that is not an int.
        ValueError: an empty edge list, a node outside ``0 .. num_nodes - 1``.

    Example:
        >>> array, nodes = check_edges("my.solver", [(0, 1), (1, 3)])
        >>> array.tolist(), nodes
        ([[0, 1], [1, 3]], 4)
    """
    form = "edges must be (tail, head) pairs or an (E, 2) integer array"
    try:
        array = np.asarray(edges)
    except (TypeError, ValueError) as error:
        raise TypeError(message(solver, f"{form}; could not convert them: {error}")) from error
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(message(solver, f"{form}; got entries of dtype {array.dtype}"))
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(message(solver, f"{form}, got an array of shape {array.shape}"))
    if array.shape[0] == 0:
        raise ValueError(message(solver, "the graph has no edges, so theta would be empty"))
    if array.min() < 0:
        edge = int(np.argwhere(array < 0)[0, 0])
        raise ValueError(
            message(
                solver, f"edges[{edge}] = {tuple(array[edge].tolist())} has a negative node index"
            )
        )
    highest = int(array.max())
    if num_nodes is None:
        return array.astype(np.int64), highest + 1
    nodes = check_int(solver, "num_nodes", num_nodes, minimum=1)
    if highest >= nodes:
        edge = int(np.argwhere(array >= nodes)[0, 0])
        raise ValueError(
            message(
                solver,
                f"edges[{edge}] = {tuple(array[edge].tolist())} names a node >= num_nodes={nodes}",
            )
        )
    return array.astype(np.int64), nodes


def check_node(solver: str, option: str, node: Any, num_nodes: int) -> int:
    """``node`` (the value of ``option``) as an index in ``0 .. num_nodes - 1``.

    Raises:
        TypeError: not an integer.
        ValueError: outside the graph.

    Example:
        >>> check_node("my.solver", "target", 5, num_nodes=4)
        Traceback (most recent call last):
        ...
        ValueError: solver 'my.solver': target=5 is not a node of the graph (nodes are 0 .. 3)
    """
    if isinstance(node, bool) or not isinstance(node, numbers.Integral):
        raise TypeError(
            message(solver, f"{option} must be a node index (an integer), got {node!r}")
        )
    index = int(node)
    if not 0 <= index < num_nodes:
        raise ValueError(
            message(
                solver,
                f"{option}={index} is not a node of the graph (nodes are 0 .. {num_nodes - 1})",
            )
        )
    return index


# --- packages ------------------------------------------------------------------------


def lazy_attributes(
    package: str, attributes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that import attributes on first access.

    A plugin's solver modules import their solver library; loading them lazily lets
    perturbopt list the plugin's solvers without importing that library. In the
    plugin's ``__init__.py``::

        __getattr__, __dir__ = lazy_attributes(__name__, {"MySolver": "._my_solver"})

    Args:
        package: the package's ``__name__``.
        attributes: attribute name -> the module that defines it, relative to the
            package (``"._assignment"``) or absolute.

    Returns:
        ``(__getattr__, __dir__)``. The first access imports the module and stores the
        attribute on the package, so later accesses are plain lookups.

    Example:
        >>> getattr_, dir_ = lazy_attributes("json", {"JSONDecodeError": ".decoder"})
        >>> getattr_("JSONDecodeError").__name__
        'JSONDecodeError'
        >>> "JSONDecodeError" in dir_()
        True
    """

    def __getattr__(name: str) -> Any:
        module = attributes.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(attributes))

    return __getattr__, __dir__
