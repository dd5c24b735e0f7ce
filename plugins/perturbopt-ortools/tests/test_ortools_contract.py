"""Every OR-Tools solver against the solver contract (perturbopt.plugin.testing), 0/1
solutions as int8, one message prefix, TypeError for wrong types, and a quiet HiGHS."""

from __future__ import annotations

import doctest
import importlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from ortools.linear_solver.python import model_builder
from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

import perturbopt
from perturbopt.plugin.testing import SolverCase, parametrize_with_checks


def knapsack_cp_sat() -> dict[str, Any]:
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(4)]
    model.add(3 * x[0] + 2 * x[1] + 2 * x[2] + x[3] <= 4)
    return {"model": model, "variables": x}


def knapsack_mathopt(solver_type: str) -> dict[str, Any]:
    model = mathopt.Model()
    x = [
        model.add_binary_variable()
        if solver_type == "HIGHS"
        else model.add_variable(lb=0.0, ub=1.0)
        for _ in range(4)
    ]
    model.add_linear_constraint(3 * x[0] + 2 * x[1] + 2 * x[2] + x[3] <= 4)
    return {"model": model, "variables": x, "solver_type": solver_type}


def knapsack_model_builder() -> dict[str, Any]:
    model = model_builder.Model()
    x = [model.new_num_var(0.0, 1.0, f"x{i}") for i in range(4)]
    model.add(3 * x[0] + 2 * x[1] + 2 * x[2] + x[3] <= 4)
    return {"model": model, "variables": x}


CYCLE = [(0, 1), (1, 2), (2, 3), (3, 0)]
CASES = {
    "ortools.assignment": ({}, (4, 4), np.int8),
    "ortools.shortest_path": ({"edges": CYCLE, "source": 0, "target": 2}, (4,), np.int8),
    "ortools.min_cost_flow": (
        {"edges": CYCLE, "capacities": [2, 2, 2, 2], "supplies": [1, 0, -1, 0]},
        (4,),
        np.int64,
    ),
    "ortools.cp_sat": (knapsack_cp_sat(), (4,), np.int8),
    "ortools.knapsack": ({"weights": [[3, 2, 2, 1]], "capacities": [4]}, (4,), np.int8),
    "ortools.tsp": ({"num_nodes": 4}, (6,), np.int8),
    "ortools.mathopt": (knapsack_mathopt("GLOP"), (4,), np.float64),
    "ortools.model_builder": (knapsack_model_builder(), (4,), np.float64),
}


@parametrize_with_checks(
    [
        SolverCase(name, np.random.default_rng(0).uniform(0.5, 2.0, size=(4, *shape)), options)
        for name, (options, shape, _) in sorted(CASES.items())
    ]
)
def test_contract(case: SolverCase, check) -> None:  # type: ignore[no-untyped-def]
    check(case)


@pytest.mark.parametrize("name", sorted(CASES))
def test_solution_dtype(name: str) -> None:
    options, shape, dtype = CASES[name]
    theta = np.linspace(0.5, 2.0, int(np.prod(shape))).reshape(shape)
    y = perturbopt.get_solver(name, **options).solve(theta)
    assert y.dtype == dtype


def test_cp_sat_returns_int64_when_an_entry_can_leave_zero_one() -> None:
    model = cp_model.CpModel()
    z = model.new_int_var(0, 3, "z")
    b = model.new_bool_var("b")
    wide = perturbopt.get_solver("ortools.cp_sat", model=model, variables=[z, b])
    assert wide.solve(np.array([1.0, 1.0])).dtype == np.int64
    narrow = perturbopt.get_solver("ortools.cp_sat", model=model, variables=[~b, b])
    assert narrow.solve(np.array([1.0, 0.0])).dtype == np.int8


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("ortools.assignment", {"sense": 1}, r"sense must be 'max' or 'min', got 1"),
        ("ortools.assignment", {"shape": 3}, r"shape must be a pair of positive integers"),
        (
            "ortools.shortest_path",
            {"edges": [(0.5, 1)], "source": 0, "target": 1},
            r"edges must be \(tail, head\) pairs",
        ),
        (
            "ortools.shortest_path",
            {"edges": [(0, 1)], "source": "0", "target": 1},
            r"source must be a node index",
        ),
        (
            "ortools.shortest_path",
            {"edges": [(0, 1)], "source": 0, "target": 1, "negative_costs": None},
            r"negative_costs must be",
        ),
        (
            "ortools.min_cost_flow",
            {"edges": [(0, 1)], "capacities": [0.5], "supplies": [0, 0]},
            r"capacities must be integers",
        ),
        (
            "ortools.cp_sat",
            {**knapsack_cp_sat(), "allow_feasible": "yes"},
            r"allow_feasible must be True or False",
        ),
        (
            "ortools.knapsack",
            {"weights": [[3, 2]], "capacities": [4], "time_limit": "1"},
            r"time_limit must be a positive number",
        ),
        ("ortools.tsp", {"num_nodes": "4"}, r"num_nodes must be an integer"),
        (
            "ortools.mathopt",
            {**knapsack_mathopt("GLOP"), "threads": 1.5},
            r"threads must be an integer",
        ),
        (
            "ortools.mathopt",
            {**knapsack_mathopt("GLOP"), "solver_type": 3},
            r"solver_type must be a mathopt.SolverType",
        ),
        (
            "ortools.model_builder",
            {**knapsack_model_builder(), "time_limit": "1"},
            r"time_limit must be a positive number",
        ),
    ],
)
def test_wrong_types_raise_type_error_with_the_prefix(
    name: str, options: dict, message: str
) -> None:
    with pytest.raises(TypeError, match=rf"^solver '{name}': {message}"):
        perturbopt.get_solver(name, **options)


def test_highs_writes_nothing_to_the_console(capfd: pytest.CaptureFixture[str]) -> None:
    options = knapsack_mathopt("HIGHS")
    solver = perturbopt.get_solver("ortools.mathopt", **options, time_limit=10.0)
    theta = np.array([4.0, 3.0, 3.0, 1.0])
    y = solver.solve(theta, hint=np.array([1.0, 0.0, 0.0, 1.0]))
    np.testing.assert_array_equal(y, [0.0, 1.0, 1.0, 0.0])
    perturbopt.perturbed(
        "ortools.mathopt", solver_options=options, num_samples=5, seed=0, warm_start=True
    ).solve(theta)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize(
    "module",
    ["_assignment", "_cp_sat", "_flow", "_knapsack", "_mathopt", "_model_builder", "_tsp"],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(
        importlib.import_module("perturbopt_ortools." + module), optionflags=doctest.ELLIPSIS
    )
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n in CASES
        if getattr(perturbopt.Registry.default().solver_entry(n).factory, "releases_gil", False)
    ),
)
def test_solvers_that_release_the_gil_give_the_same_answers_on_two_threads(name: str) -> None:
    options, shape, _ = CASES[name]
    thetas = np.random.default_rng(1).normal(size=(2, 60, *shape))
    expected = [[perturbopt.get_solver(name, **options).solve(t) for t in half] for half in thetas]
    solvers = [perturbopt.get_solver(name, **options) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(lambda k: [solvers[k].solve(t) for t in thetas[k]], (0, 1)))
    np.testing.assert_array_equal(np.array(found), np.array(expected))


def test_the_declared_solvers() -> None:
    declared = {
        entry.name
        for entry in perturbopt.list_solvers()
        if entry.name.startswith("ortools.") and getattr(entry.factory, "releases_gil", False)
    }
    assert declared == {
        "ortools.cp_sat",
        "ortools.knapsack",
        "ortools.model_builder",
        "ortools.tsp",
    }
