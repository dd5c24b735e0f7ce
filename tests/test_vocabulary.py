"""One vocabulary across the solvers, option misuse answered with what to write, and
the 0.2 leftovers gone (issue 16, parts 2 and the removals)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import perturbopt
from perturbopt import plugin
from perturbopt._factory_options import option_texts
from perturbopt.cli import main

ROOT = Path(__file__).resolve().parents[1]
TRIANGLE = [(0, 1), (1, 2), (0, 2)]


def test_perturbopt_solvers_prints_each_solvers_sense_and_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["solvers"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    for entry in perturbopt.list_solvers():
        line = lines[entry.name]
        assert "sense max" in line or "sense min" in line, line
        for option in option_texts(entry.factory) or []:
            assert option in line, (entry.name, option)


@pytest.mark.parametrize(
    "name, options",
    [
        ("networkx.shortest_path", {"edges": TRIANGLE, "source": 0, "target": 2}),
        ("networkx.min_cut", {"edges": TRIANGLE, "source": 0, "target": 2}),
        ("ortools.shortest_path", {"edges": TRIANGLE, "source": 0, "target": 2}),
        ("scipy.grid_shortest_path", {"grid": (1, 3)}),
    ],
)
def test_negative_costs_means_the_same_everywhere(name: str, options: dict) -> None:
    theta = np.array([1.0, -2.0, 1.5]).reshape(perturbopt.get_solver(name, **options).shape)
    clipped = np.maximum(theta, 0.0)
    default = perturbopt.get_solver(name, **options)
    assert default.negative_costs == plugin.DEFAULT_NEGATIVE_COSTS == "clip"
    np.testing.assert_array_equal(default.solve(theta), default.solve(clipped))
    with pytest.raises(ValueError, match=rf"solver '{name}': .*theta\[.*\] = -2"):
        perturbopt.get_solver(name, **options, negative_costs="error").solve(theta)
    with pytest.raises(ValueError, match="negative_costs must be 'clip' or 'error' or 'allow'"):
        perturbopt.get_solver(name, **options, negative_costs="ignore")


def test_allow_only_where_the_algorithm_takes_negative_costs() -> None:
    edges = {"edges": [(0, 1), (1, 2)], "source": 0, "target": 2}
    assert perturbopt.get_solver("ortools.shortest_path", **edges, negative_costs="allow")
    for name in ("networkx.shortest_path", "networkx.min_cut"):
        with pytest.raises(ValueError, match=r"negative_costs='allow' hands negative costs"):
            perturbopt.get_solver(name, **edges, negative_costs="allow")


def test_both_grid_solvers_take_grid() -> None:
    assert perturbopt.get_solver("scipy.grid_shortest_path", grid=(2, 3)).shape == (2, 3)
    assert perturbopt.get_solver("scipy.grid_shortest_path_edges", grid=(2, 3)).shape == (7,)


def test_topk_needs_k() -> None:
    with pytest.raises(TypeError, match=r"solver 'topk' needs option 'k'.*k \(required\)"):
        perturbopt.get_solver("topk")
    with pytest.raises(TypeError, match=r"could not build solver 'topk'.*needs option 'k'"):
        perturbopt.perturbed("topk")


def test_wrong_option_names_the_accepted_ones_instead_of_a_raw_type_error() -> None:
    with pytest.raises(
        TypeError,
        match=r"^solver 'scipy\.grid_shortest_path_edges' has no option 'shape'\. "
        r"Its options: grid \(required\)$",
    ):
        perturbopt.get_solver("scipy.grid_shortest_path_edges", shape=(2, 2))


def test_solver_options_at_the_top_level_point_to_solver_options() -> None:
    with pytest.raises(
        TypeError,
        match=r"^unknown option 'grid'\. Solver options go in solver_options=\{'grid': \.\.\.\}",
    ):
        perturbopt.perturbed("scipy.grid_shortest_path", grid=(3, 3))


def test_one_validator_family() -> None:
    from perturbopt import _checks

    for name in ("check_bool", "check_choice", "check_int", "check_number", "message"):
        assert getattr(plugin, name) is getattr(_checks, name)
    with pytest.raises(TypeError, match=r"^warm_start must be True or False, got 'no'"):
        perturbopt.perturbed("argmax", warm_start="no")


def test_one_default_registry() -> None:
    from perturbopt import _registry

    assert not hasattr(_registry, "default_registry")
    assert perturbopt.Registry.default() is perturbopt.Registry.default()


@pytest.mark.parametrize(
    "name",
    [
        "Argmax",
        "TopK",
        "Ranking",
        "Sign",
        "FunctionSolver",
        "Gaussian",
        "Gumbel",
        "EULER_GAMMA",
        "ENTRY_POINT_GROUP",
        "hookspec",
        "RegisteredEntry",
        "default_registry",
        "get_noise",
    ],
)
def test_the_names_moved_in_0_2_are_gone(name: str) -> None:
    with pytest.raises(AttributeError):
        getattr(perturbopt, name)


def test_a_noise_without_dtype_is_told_to_take_it() -> None:
    class OldNoise:
        name, symmetric = "old", True

        def sample(self, rng, shape):  # type: ignore[no-untyped-def]
            return rng.normal(size=shape)

        def score(self, z):  # type: ignore[no-untyped-def]
            return z

        def log_mgf(self, epsilon):  # type: ignore[no-untyped-def]
            return epsilon**2 / 2

    po = perturbopt.perturbed("argmax", noise=OldNoise(), num_samples=2, seed=0)
    with pytest.raises(TypeError, match=r"noise 'old': sample\(rng, shape, dtype=\.\.\.\) must"):
        po.solve(np.zeros(3))


def test_solver_tables_list_options_with_defaults_and_no_removed_ones() -> None:
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        import solver_tables  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    table = solver_tables.solver_table("*")
    assert "`grid (required)`, `negative_costs='clip'`" in table
    for removed in ("`graph", "`maximize", "`minimum", "`n=", "`s=", "`t="):
        assert removed not in table
