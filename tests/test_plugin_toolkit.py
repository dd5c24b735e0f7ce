"""perturbopt.plugin: one prefix, TypeError for types and ValueError for values, inputs
never written to, clipping, status errors that pickle, lazy package attributes."""

from __future__ import annotations

import doctest
import pickle
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from perturbopt import PerturbOptError, plugin

SOLVER = "demo.solver"
PREFIX = r"solver 'demo\.solver': "


def read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


def test_docstring_examples_run() -> None:
    result = doctest.testmod(plugin, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 15 and result.failed == 0


def test_message_and_status_error_share_the_prefix_and_pickle() -> None:
    assert plugin.message(SOLVER, "broken") == "solver 'demo.solver': broken"
    error = plugin.StatusError(SOLVER, "INFEASIBLE", "relax the constraints")
    assert isinstance(error, PerturbOptError) and isinstance(error, RuntimeError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is plugin.StatusError and str(copy) == str(error)
    assert (copy.solver, copy.status, copy.detail) == (
        SOLVER,
        "INFEASIBLE",
        "relax the constraints",
    )

    class HighsError(plugin.StatusError, ValueError):
        pass

    assert isinstance(HighsError(SOLVER, "X", "y"), ValueError)


@pytest.mark.parametrize(
    "check, bad_type, bad_value",
    [
        (lambda v: plugin.check_sense(SOLVER, v), 1, "maximize"),
        (
            lambda v: plugin.check_choice(SOLVER, "negative_costs", v, plugin.NEGATIVE_COSTS),
            None,
            "ignore",
        ),
        (lambda v: plugin.check_int(SOLVER, "threads", v, minimum=1), 2.0, 0),
        (lambda v: plugin.check_number(SOLVER, "time_limit", v, positive=True), "1", -1.0),
        (lambda v: plugin.check_shape(SOLVER, "shape", v, ndim=2), 3, (3, 0)),
        (lambda v: plugin.check_node(SOLVER, "source", v, 4), "0", 4),
    ],
)
def test_wrong_types_raise_type_error_and_wrong_values_value_error(
    check, bad_type, bad_value
) -> None:
    with pytest.raises(TypeError, match=PREFIX):
        check(bad_type)
    with pytest.raises(ValueError, match=PREFIX):
        check(bad_value)


def test_option_checks_accept_and_normalise() -> None:
    assert plugin.check_sense(SOLVER, "min") == "min"
    assert plugin.check_bool(SOLVER, "flag", np.bool_(True)) is True
    with pytest.raises(TypeError, match=PREFIX + "flag must be True or False"):
        plugin.check_bool(SOLVER, "flag", "yes")
    assert type(plugin.check_int(SOLVER, "n", np.int32(3))) is int
    with pytest.raises(TypeError):
        plugin.check_int(SOLVER, "n", True)
    assert plugin.check_number(SOLVER, "x", -2) == -2.0
    with pytest.raises(ValueError, match="finite"):
        plugin.check_number(SOLVER, "x", float("nan"))
    assert plugin.check_shape(SOLVER, "shape", np.array([2, 5])) == (2, 5)
    with pytest.raises(ValueError, match=r"shape must be a tuple of 3 positive integers"):
        plugin.check_shape(SOLVER, "shape", (2, 5), ndim=3)


def test_instance_and_stack_shapes() -> None:
    theta = read_only(np.ones((2, 3)))
    assert plugin.check_instance(SOLVER, theta, ndim=2) is theta  # no copy, no write
    with pytest.raises(
        ValueError,
        match=PREFIX + r"theta has shape \(2, 3\), but this solver "
        r"takes instances of shape \(3, 3\)",
    ):
        plugin.check_instance(SOLVER, theta, shape=(3, 3))
    with pytest.raises(ValueError, match=r"instances with 1 axis \(one cost per edge\)"):
        plugin.check_instance(SOLVER, theta, ndim=1, what="one cost per edge")
    assert plugin.check_stack(SOLVER, np.ones((4, 2, 3)), shape=(2, 3)).shape == (4, 2, 3)
    with pytest.raises(
        ValueError,
        match=PREFIX + r"solve_batch takes a stack of instances of "
        r"shape \(n, 2, 3\), got shape \(2, 3\)",
    ):
        plugin.check_stack(SOLVER, np.ones((2, 3)), shape=(2, 3))
    with pytest.raises(ValueError, match=r"\(n, \.\.\.\) with 3 axes, got shape \(4, 6\)"):
        plugin.check_stack(SOLVER, np.ones((4, 6)), ndim=2)


def test_nonnegative_errors_and_clips_without_writing_the_input() -> None:
    theta = read_only([[1.0, 2.0], [-0.5, -3.0]])
    with pytest.raises(
        ValueError,
        match=PREFIX + r"capacities must be non-negative, but "
        r"theta\[1, 0\] = -0\.5 \(edge \(2, 0\)\); "
        r"pass negative_costs='clip'",
    ):
        plugin.check_nonnegative(
            SOLVER,
            theta,
            negative_costs="error",
            what="capacities",
            where=lambda index: f"edge {(2, index[1])}",
        )
    clipped = plugin.check_nonnegative(SOLVER, theta)  # "clip", the default
    np.testing.assert_array_equal(clipped, [[1.0, 2.0], [0.0, 0.0]])
    assert plugin.check_nonnegative(SOLVER, theta, negative_costs="allow") is theta
    np.testing.assert_array_equal(theta, [[1.0, 2.0], [-0.5, -3.0]])
    positive = read_only([0.0, 1.0])
    assert plugin.check_nonnegative(SOLVER, positive) is positive


def test_edges_and_nodes() -> None:
    edges, nodes = plugin.check_edges(SOLVER, [(0, 1), (1, 2)], num_nodes=5)
    assert edges.dtype == np.int64 and edges.shape == (2, 2) and nodes == 5
    with pytest.raises(TypeError, match=r"edges must be \(tail, head\) pairs.*float64"):
        plugin.check_edges(SOLVER, [(0.0, 1.0)])
    with pytest.raises(TypeError, match="num_nodes must be an integer"):
        plugin.check_edges(SOLVER, [(0, 1)], num_nodes="2")
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        plugin.check_edges(SOLVER, [0, 1, 2])
    with pytest.raises(ValueError, match="the graph has no edges"):
        plugin.check_edges(SOLVER, np.empty((0, 2), dtype=int))
    with pytest.raises(ValueError, match=r"edges\[1\] = \(1, 3\) names a node >= num_nodes=3"):
        plugin.check_edges(SOLVER, [(0, 1), (1, 3)], num_nodes=3)
    with pytest.raises(ValueError, match=r"edges\[0\] = \(-1, 0\) has a negative node index"):
        plugin.check_edges(SOLVER, [(-1, 0)])
    assert plugin.check_node(SOLVER, "target", np.int64(3), 4) == 3


def test_deprecation_warning_names_the_new_spelling() -> None:
    with pytest.warns(
        DeprecationWarning,
        match=PREFIX + r"n=3 is deprecated; pass "
        r"shape=\(3, 3\) instead",
    ):
        plugin.warn_deprecated(SOLVER, "n=3", "shape=(3, 3)")


def test_lazy_attributes_import_on_first_access(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lazy_demo_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent("""
        from perturbopt.plugin import lazy_attributes
        __getattr__, __dir__ = lazy_attributes(__name__, {"Heavy": "._heavy"})
    """)
    )
    (package / "_heavy.py").write_text("class Heavy:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import lazy_demo_pkg  # type: ignore[import-not-found]

    try:
        assert "lazy_demo_pkg._heavy" not in sys.modules
        assert "Heavy" in dir(lazy_demo_pkg)
        heavy = lazy_demo_pkg.Heavy
        assert "lazy_demo_pkg._heavy" in sys.modules and heavy.__name__ == "Heavy"
        assert vars(lazy_demo_pkg)["Heavy"] is heavy  # cached on the package
        with pytest.raises(AttributeError, match="has no attribute 'Light'"):
            lazy_demo_pkg.Light  # noqa: B018
    finally:
        for name in ("lazy_demo_pkg", "lazy_demo_pkg._heavy"):
            sys.modules.pop(name, None)


def test_no_import_of_the_engine() -> None:
    source = Path(plugin.__file__).read_text()
    imports = [
        line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))
    ]
    assert set(imports) <= {
        "__future__",
        "importlib",
        "math",
        "numbers",
        "sys",
        "warnings",
        "collections.abc",
        "typing",
        "numpy",
        ".._checks",
        ".._errors",
        ".._hookspecs",
        ".._registry",
        ".._types",
    }
