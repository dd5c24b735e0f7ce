"""Side by side with PyEPO: Fenchel-Young training on PyEPO's 5x5 shortest-path benchmark.

Runs in its own venv, ``benchmarks/.env`` (PyEPO is never a dependency of ours)::

    python3 -m venv benchmarks/.env
    benchmarks/.env/bin/pip install torch==2.13.0   # first: the CPU build
    benchmarks/.env/bin/pip install pyepo
    benchmarks/.env/bin/pip install -e . -e plugins/perturbopt-scipy -e plugins/perturbopt-ortools

Protocol: ``pyepo.data.shortestpath.genData(2000, 5, (5, 5), deg=4, noise_width=0.5,
seed=135)``, the first 1000 for training and the rest for test; a linear model 5 -> 40
(same initial weights for all), batch 32 (same shuffled order for all), Adam lr 1e-2,
Fenchel-Young loss with 3 samples and sigma 1, sense "min". Measured: training wall
time (the epochs alone; candidates are trained epoch by epoch in turn, so machine load
hits all alike) and normalized test regret (``pyepo.metric.regret``, PyEPO's GLOP model).
Torch runs on one intra-op thread for every candidate (``--torch-threads`` changes it):
a step's torch work is a 5 -> 40 linear layer, and torch's OpenMP threads spin for
milliseconds after each op, taking the second core from any parallel solving (PyEPO's
processes=2 and perturbopt's n_jobs=2 alike).

Candidates: PyEPO's ``perturbedFenchelYoung`` on its OR-Tools GLOP model at processes=1
and 2; perturbopt's ``FenchelYoungLoss`` (a) on the same LP through
``ortools.model_builder`` (GLOP; the fastest GLOP interface, see below), (a') on the same
LP through OR-Tools' ``pywraplp`` GLOP (PyEPO's interface to GLOP, as a plain solver
object defined here), (b) with ``scipy.grid_shortest_path_edges`` (vectorised dynamic
programme). Targets: regret within 0.5 points of PyEPO's; (a) >= 1.4x faster than
PyEPO's best; (b) >= 10x faster.

``--solvers`` measures the GLOP interfaces alone instead: milliseconds per solve of the
LP with new costs each solve (PyEPO's costs plus standard Gaussian noise, as in
training), and the speed-up of two threads, each with its own instance, over one
(``two_threads_against_one`` of bench_threads.py; identical solutions checked): PyEPO's
own model (``setObj`` + ``solve``), ``pywraplp``, ``ortools.mathopt`` and
``ortools.model_builder``.

Run: benchmarks/.env/bin/python benchmarks/bench_pyepo.py [--quick] [--epochs N] [--solvers]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyepo
import torch
from _timing import load, machine
from bench_threads import two_threads_against_one
from ortools.linear_solver import pywraplp
from ortools.linear_solver.python import model_builder
from ortools.math_opt.python import mathopt
from perturbopt_scipy._grid_arcs import grid_arcs
from torch.utils.data import DataLoader

import perturbopt
from perturbopt.torch import FenchelYoungLoss

GRID = (5, 5)
SEED = 135
BATCH = 32
SAMPLES = 3
SIGMA = 1.0


def flow_constraints(grid: tuple[int, int]) -> list[tuple[list[int], list[int], int]]:
    """Per node: (arcs in, arcs out, net inflow) of the unit source-to-sink flow LP."""
    arcs = grid_arcs(grid)
    nodes = grid[0] * grid[1]
    rows = []
    for v in range(nodes):
        into = [k for k, (_, head) in enumerate(arcs) if head == v]
        out = [k for k, (tail, _) in enumerate(arcs) if tail == v]
        rows.append((into, out, -1 if v == 0 else 1 if v == nodes - 1 else 0))
    return rows


def mathopt_lp(grid: tuple[int, int]) -> dict[str, object]:
    """``solver_options`` for ``ortools.mathopt``: the shortest-path LP, GLOP, sense min."""
    model = mathopt.Model()
    x = [model.add_variable(lb=0.0, ub=1.0) for _ in grid_arcs(grid)]
    for into, out, net in flow_constraints(grid):
        model.add_linear_constraint(sum(x[k] for k in into) - sum(x[k] for k in out) == net)
    return {"model": model, "variables": x, "sense": "min", "solver_type": "GLOP"}


def model_builder_lp(grid: tuple[int, int]) -> dict[str, object]:
    """``solver_options`` for ``ortools.model_builder``: the same LP, GLOP, sense min."""
    model = model_builder.Model()
    x = [model.new_num_var(0.0, 1.0, f"x{k}") for k in range(len(grid_arcs(grid)))]
    for into, out, net in flow_constraints(grid):
        model.add(
            model_builder.LinearExpr.sum([x[k] for k in into])
            - model_builder.LinearExpr.sum([x[k] for k in out])
            == net
        )
    return {"model": model, "variables": x, "sense": "min", "solver_type": "glop"}


class PywraplpGlopShortestPath:
    """The same LP in OR-Tools' ``pywraplp`` with GLOP: the interface PyEPO uses.

    Rebuilt from ``grid`` when pickled, so parallel workers build their own.
    """

    sense = "min"
    ndim = 1
    name = "bench.pywraplp_glop"

    def __init__(self, grid: tuple[int, int]) -> None:
        self.grid = grid
        self._solver = pywraplp.Solver.CreateSolver("GLOP")
        self._x = [self._solver.NumVar(0.0, 1.0, "") for _ in grid_arcs(grid)]
        for into, out, net in flow_constraints(grid):
            row = self._solver.Constraint(net, net)
            for k in into:
                row.SetCoefficient(self._x[k], 1.0)
            for k in out:
                row.SetCoefficient(self._x[k], -1.0)
        self._solver.Objective().SetMinimization()

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        objective = self._solver.Objective()
        for x, cost in zip(self._x, theta.tolist(), strict=True):
            objective.SetCoefficient(x, cost)
        if self._solver.Solve() != pywraplp.Solver.OPTIMAL:
            raise RuntimeError("GLOP found no optimal solution")
        return np.rint([x.solution_value() for x in self._x]).astype(np.int8)

    def __reduce__(self) -> tuple[type, tuple[tuple[int, int]]]:
        return PywraplpGlopShortestPath, (self.grid,)


@dataclass
class Candidate:
    """One training setup: a name and a loss ``(pred_costs, true_sols) -> scalar``."""

    name: str
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    seconds: float = 0.0


def datasets(optmodel: object) -> tuple[object, object]:
    """Train and test ``optDataset`` of the protocol (labels by PyEPO's GLOP model)."""
    x, c = pyepo.data.shortestpath.genData(2000, 5, GRID, deg=4, noise_width=0.5, seed=SEED)
    return (
        pyepo.data.dataset.optDataset(optmodel, x[:1000], c[:1000]),
        pyepo.data.dataset.optDataset(optmodel, x[1000:], c[1000:]),
    )


def candidate(name: str, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Candidate:
    """A fresh linear model 5 -> 40 with the common initial weights, and its Adam."""
    torch.manual_seed(SEED)
    model = torch.nn.Linear(5, 40)
    return Candidate(name, loss, model, torch.optim.Adam(model.parameters(), lr=1e-2))


def candidates(optmodel: object, quick: bool) -> list[Candidate]:
    """PyEPO at processes=1, 2 and perturbopt (a), (a'), (b)."""

    def pyepo_loss(processes: int) -> Callable[..., torch.Tensor]:
        return pyepo.func.perturbedFenchelYoung(
            optmodel, n_samples=SAMPLES, sigma=SIGMA, processes=processes, seed=SEED
        )

    def ours(solver: object, n_jobs: int, **options: object) -> Callable[..., torch.Tensor]:
        return FenchelYoungLoss(
            solver,
            epsilon=SIGMA,
            num_samples=SAMPLES,
            noise="gaussian",
            seed=SEED,
            n_jobs=n_jobs,
            solver_options=options or None,
        )

    found = [
        candidate("PyEPO GLOP processes=1", pyepo_loss(1)),
        candidate("PyEPO GLOP processes=2", pyepo_loss(2)),
    ]
    for n_jobs in (1, 2):
        found.append(
            candidate(
                f"(a) perturbopt ortools.model_builder GLOP n_jobs={n_jobs}",
                ours("ortools.model_builder", n_jobs, **model_builder_lp(GRID)),
            )
        )
    for n_jobs in (1, 2):
        found.append(
            candidate(
                f"(a'') perturbopt ortools.mathopt GLOP n_jobs={n_jobs}",
                ours("ortools.mathopt", n_jobs, **mathopt_lp(GRID)),
            )
        )
    for n_jobs in (1, 2):
        found.append(
            candidate(
                f"(a') perturbopt pywraplp GLOP n_jobs={n_jobs}",
                ours(PywraplpGlopShortestPath(GRID), n_jobs),
            )
        )
    found.append(
        candidate(
            "(b) perturbopt scipy.grid_shortest_path_edges n_jobs=1",
            ours("scipy.grid_shortest_path_edges", 1, grid=GRID),
        )
    )
    if quick:
        found = [c for c in found if "=2" not in c.name]
    return found


def train_epoch(entry: Candidate, loader: DataLoader) -> None:
    """One epoch of Fenchel-Young training; adds its wall time to ``entry.seconds``."""
    entry.model.train()
    start = time.perf_counter()
    for x, _, w, _ in loader:
        loss = entry.loss(entry.model(x), w)
        entry.optimizer.zero_grad()
        loss.backward()
        entry.optimizer.step()
    entry.seconds += time.perf_counter() - start


def run(quick: bool = False, epochs: int | None = None) -> list[str]:
    """Train every candidate, epoch by epoch in turn; a markdown table of time and regret."""
    epochs = epochs or (2 if quick else 20)
    optmodel = pyepo.model.ort.shortestPathModel(grid=GRID, solver="glop")
    train, test = datasets(optmodel)
    entries = candidates(optmodel, quick)
    for epoch in range(epochs):
        for entry in entries:
            order = torch.Generator().manual_seed(SEED + epoch)  # the same for all
            train_epoch(entry, DataLoader(train, batch_size=BATCH, shuffle=True, generator=order))
    test_loader = DataLoader(test, batch_size=BATCH, shuffle=False)
    pyepo_best = min(e.seconds for e in entries if e.name.startswith("PyEPO"))
    lines = [
        (
            f"PyEPO {pyepo.__version__} shortest path 5x5, {epochs} epochs, batch {BATCH}, "
            f"{SAMPLES} samples, sigma {SIGMA}, torch threads {torch.get_num_threads()}, "
            f"on {machine()}"
        ),
        "",
        "| candidate | training (s) | speed-up vs PyEPO best | normalized test regret |",
        "|---|---|---|---|",
    ]
    regrets = {e.name: 100 * pyepo.metric.regret(e.model, optmodel, test_loader) for e in entries}
    for entry in entries:
        lines.append(
            f"| {entry.name} | {entry.seconds:.2f} | {pyepo_best / entry.seconds:.2f} | "
            f"{regrets[entry.name]:.2f}% |"
        )
    return lines + [""] + verdicts(entries, regrets)


def verdicts(entries: list[Candidate], regrets: dict[str, float]) -> list[str]:
    """The three targets, met or not, from the table's numbers."""
    pyepo_runs = [e for e in entries if e.name.startswith("PyEPO")]
    best = min(pyepo_runs, key=lambda e: e.seconds)
    worst_gap = max(abs(regrets[e.name] - regrets[best.name]) for e in entries)

    def fastest(prefix: str) -> Candidate:
        return min((e for e in entries if e.name.startswith(prefix)), key=lambda e: e.seconds)

    a, b = fastest("(a"), fastest("(b) ")
    mark = {True: "met", False: "NOT met"}
    return [
        (
            f"- Regret within 0.5 points of PyEPO's ({best.name}): largest gap "
            f"{worst_gap:.2f} points: {mark[worst_gap <= 0.5]}."
        ),
        (
            f"- (a) >= 1.4x faster than PyEPO's best: {a.name} is "
            f"{best.seconds / a.seconds:.2f}x: {mark[best.seconds / a.seconds >= 1.4]}."
        ),
        (
            f"- (b) >= 10x faster: {b.name} is {best.seconds / b.seconds:.2f}x: "
            f"{mark[best.seconds / b.seconds >= 10]}."
        ),
    ]


class _PyepoSolver:
    """PyEPO's own GLOP model behind the solver interface, for the per-solve timings."""

    def __init__(self) -> None:
        self._model = pyepo.model.ort.shortestPathModel(grid=GRID, solver="glop")

    def solve(self, theta: np.ndarray) -> np.ndarray:
        self._model.setObj(theta)
        solution, _ = self._model.solve()
        return np.rint(solution).astype(np.int8)


def glop_interfaces() -> dict[str, Callable[[], Any]]:
    """Factories of one solver instance per GLOP interface, for the 5x5 LP."""
    return {
        "PyEPO shortestPathModel (pywraplp), setObj + solve": _PyepoSolver,
        "pywraplp, objective coefficients + Solve": lambda: PywraplpGlopShortestPath(GRID),
        "ortools.mathopt (incremental, keeps the basis)": lambda: perturbopt.get_solver(
            "ortools.mathopt", **mathopt_lp(GRID)
        ),
        "ortools.model_builder": lambda: perturbopt.get_solver(
            "ortools.model_builder", **model_builder_lp(GRID)
        ),
    }


def solver_timings(solves: int = 2000) -> list[str]:
    """Per-solve time and 2-thread speed-up of each GLOP interface."""
    _, costs = pyepo.data.shortestpath.genData(1000, 5, GRID, deg=4, noise_width=0.5, seed=SEED)
    rng = np.random.default_rng(SEED)
    thetas = costs[rng.integers(0, len(costs), solves)] + rng.standard_normal((solves, 40))
    lines = [
        (
            f"GLOP on PyEPO's 5x5 shortest-path LP (40 variables, 25 rows), {solves} solves "
            f"with new costs each; serial against two threads as in bench_threads.py "
            f"(speed-up over the rounds in which the machine was quiet), on {machine()}, "
            f"{load()} at the start"
        ),
        "",
        (
            "| interface | ms per solve | 2-thread speed-up | quiet rounds | identical "
            "solutions | same optimum as PyEPO |"
        ),
        "|---|---|---|---|---|---|",
    ]
    reference = None

    def solve_all(solver: Any, rows: np.ndarray) -> np.ndarray:
        return np.stack([np.rint(solver.solve(theta)) for theta in rows])

    for label, make in glop_interfaces().items():
        found = two_threads_against_one(solve_all, [make(), make()], thetas)
        values = (solve_all(make(), thetas) * thetas).sum(axis=1)
        reference = values if reference is None else reference
        lines.append(
            f"| {label} | {found['serial'] / solves * 1e3:.4f} | "
            f"{found['speedup']:.2f} | {found['quiet']}/{found['rounds']} | "
            f"{'yes' if found['identical'] else 'NO'} | "
            f"{'yes' if np.allclose(values, reference) else 'NO'} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs, no 2-worker runs")
    parser.add_argument("--epochs", type=int, help="override the number of epochs")
    parser.add_argument(
        "--solvers",
        action="store_true",
        help="time the GLOP interfaces alone (per solve, 2 threads)",
    )
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="torch's intra-op threads for every candidate"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    print("\n".join(solver_timings() if args.solvers else run(args.quick, args.epochs)))


if __name__ == "__main__":
    main()
