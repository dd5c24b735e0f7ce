"""Side by side with PyEPO on its knapsack: SPO+ and perturbed Fenchel-Young training.

Runs in the benchmark venv ``benchmarks/.env`` (PyEPO is never a dependency of ours;
bench_pyepo.py says how to build it).

Protocol (PyEPO's knapsack experiments: 32 items in 2 dimensions, capacity 20 in each,
5 features): ``pyepo.data.knapsack.genData(2000, 5, 32, dim=2, deg=4, noise_width=0.5,
seed=135)`` (equal to ``perturbopt.problems.knapsack(..., capacity=20)``, checked at
start), 1000 train / 1000 test, a linear model 5 -> 32, Adam 1e-2, batch 32, the same
initial weights and batch order per seed for every candidate; SPO+, and the perturbed
Fenchel-Young loss with ``--samples`` samples (default 1) and sigma 1. Torch runs on one
thread. Measured: training wall time (the epochs alone) and PyEPO's normalised test
regret, computed for every candidate by ``perturbopt.metrics.regret`` with
``ortools.knapsack`` (the optimal values of both CP-SAT models agree).

Candidates, one solver family (OR-Tools CP-SAT):

- PyEPO's default OR-Tools knapsack, ``pyepo.model.ort.knapsackModel`` (``pywraplp``
  with SCIP, another family, for reference) at ``processes=1``.
- PyEPO's ``pyepo.model.ort.knapsackCpModel`` at ``processes=1`` and ``2``. CP-SAT
  takes integers only: PyEPO's weights are multiples of 0.01, so the model gets
  ``100 w`` and capacities 2000 (the same feasible set); PyEPO scales the costs by 1e6
  itself. Its ``solve`` builds a ``CpSolver`` with CP-SAT's default parameters.
- perturbopt's ``ortools.knapsack`` (CP-SAT, one search worker per solve) at
  ``n_jobs=1`` and ``n_jobs=2`` (joblib's default backend).
- perturbopt's fastest shipped option for the Fenchel-Young loss: ``solve_ratio=0.1``
  with the training solutions as the pool (PyEPO's ``solve_ratio`` / ``dataset``).

``--solves`` measures instead the milliseconds per solve of each model (one thread,
PyEPO's costs plus N(0, 1) noise, 200 instances), and checks that they agree.

Run: benchmarks/.env/bin/python benchmarks/bench_pyepo_problems.py [--epochs 20]
    [--seeds 0 1 2] [--samples 1] [--methods SPO+ PFY] [--candidates ...] [--solves]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyepo
import torch

import perturbopt.torch as pt
from perturbopt import metrics, problems

ITEMS, DIM, CAPACITY, FEATURES, SEED = 32, 2, 20, 5, 135
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
CANDIDATES = (
    "PyEPO SCIP processes=1",
    "PyEPO CP-SAT processes=1",
    "PyEPO CP-SAT processes=2",
    "perturbopt ortools.knapsack n_jobs=1",
    "perturbopt ortools.knapsack n_jobs=2",
    "perturbopt ortools.knapsack solve_ratio=0.1",
)


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, problems.ProblemData]:
    weights, x, c = pyepo.data.knapsack.genData(
        2000, FEATURES, ITEMS, dim=DIM, deg=4, noise_width=0.5, seed=SEED
    )
    ours = problems.knapsack(
        2000, FEATURES, ITEMS, DIM, degree=4, noise_width=0.5, seed=SEED, capacity=CAPACITY
    )
    assert np.array_equal(ours.c, c) and np.array_equal(ours.x, x)
    assert np.allclose(ours.solver_options["weights"], weights)
    return weights, x, c, ours


def cp_model(weights: np.ndarray) -> Any:
    """PyEPO's CP-SAT knapsack on the integer weights ``100 w`` (same feasible set)."""
    scaled = np.round(weights * 100).astype(np.int64)
    assert np.allclose(scaled / 100, weights)
    return pyepo.model.ort.knapsackCpModel(scaled, [CAPACITY * 100] * DIM)


def pyepo_step(method: str, optmodel: Any, processes: int, samples: int, seed: int) -> Step:
    f = pyepo.func
    if method == "SPO+":
        spo = f.SPOPlus(optmodel, processes=processes)
        return lambda cp, c, w, z: spo(cp, c, w, z)
    pfy = f.perturbedFenchelYoung(
        optmodel, n_samples=samples, sigma=1.0, processes=processes, seed=seed
    )
    return lambda cp, c, w, z: pfy(cp, w)


def our_step(
    method: str, options: dict[str, Any], n_jobs: int, samples: int, seed: int, extra: Any
) -> Step:
    kw: dict[str, Any] = {"solver_options": options, "n_jobs": n_jobs}
    if method == "SPO+":
        spo = pt.SPOPlus("ortools.knapsack", **kw)
        return lambda cp, c, w, z: spo(cp, c, w, z)
    pfy = pt.FenchelYoungLoss(
        "ortools.knapsack", epsilon=1.0, num_samples=samples, seed=seed, **extra, **kw
    )
    return lambda cp, c, w, z: pfy(cp, w)


def train(
    step: Step, tensors: tuple[torch.Tensor, ...], seed: int, epochs: int
) -> tuple[torch.nn.Module, float]:
    x, c, w, z = tensors
    torch.manual_seed(seed)
    model = torch.nn.Linear(FEATURES, ITEMS)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    order = np.random.default_rng(seed)
    started = time.perf_counter()
    for _ in range(epochs):
        for batch in np.array_split(order.permutation(1000), 1000 // 32):
            i = torch.as_tensor(batch)
            loss = step(model(x[i]), c[i], w[i], z[i])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model, time.perf_counter() - started


def solves(weights: np.ndarray, c: np.ndarray, ours: problems.ProblemData) -> None:
    costs = c[:200] + np.random.default_rng(0).normal(size=(200, ITEMS))
    pyepo_cp = cp_model(weights)
    pyepo_scip = pyepo.model.ort.knapsackModel(weights, [CAPACITY] * DIM)
    values = {}
    for name, model in (("PyEPO knapsackCpModel", pyepo_cp), ("PyEPO knapsackModel", pyepo_scip)):
        started, objs = time.perf_counter(), []
        for row in costs:
            model.setObj(row)
            objs.append(model.solve()[1])
        ms = (time.perf_counter() - started) / len(costs) * 1e3
        values[name] = np.array(objs)
        print(f"{name}: {ms:.1f} ms per solve")
    for name in ours.solvers:
        solver = ours.get_solver(name)
        started = time.perf_counter()
        sols = np.array([solver.solve(row) for row in costs])
        ms = (time.perf_counter() - started) / len(costs) * 1e3
        values[name] = (sols * costs).sum(axis=1)
        print(f"perturbopt {name}: {ms:.1f} ms per solve")
    reference = values["ortools.knapsack"]
    for name, v in values.items():
        print(f"{name}: largest |objective - ortools.knapsack's| {np.abs(v - reference).max():.1e}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=["SPO+", "PFY"])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--solves", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    weights, x, c, ours = data()
    if args.solves:
        solves(weights, c, ours)
        return
    options = dict(ours.solver_options)
    w, z = ours[:1000].optimal()
    tensors = tuple(torch.tensor(a, dtype=torch.float32) for a in (x[:1000], c[:1000], w, z))
    tensors = (*tensors[:3], tensors[3][:, None])
    optmodel = cp_model(weights)
    scip_model = pyepo.model.ort.knapsackModel(weights, [CAPACITY] * DIM)
    _, z_test = ours[1000:].optimal()
    print(f"| method | candidate | regret (mean over seeds {args.seeds}) | training (mean) |")
    print("|---|---|---:|---:|")
    for method in args.methods:
        for name in args.candidates:
            if method == "SPO+" and "solve_ratio" in name:
                continue
            results = []
            for seed in args.seeds:
                if name.startswith("PyEPO"):
                    model_ = optmodel if "CP-SAT" in name else scip_model
                    step = pyepo_step(method, model_, int(name[-1]), args.samples, seed)
                else:
                    n_jobs = 1 if "solve_ratio" in name else int(name[-1])
                    extra = {"solve_ratio": 0.1, "pool": w} if "solve_ratio" in name else {}
                    step = our_step(method, options, n_jobs, args.samples, seed, extra)
                model, seconds = train(step, tensors, seed, args.epochs)
                with torch.no_grad():
                    predicted = model(torch.tensor(x[1000:], dtype=torch.float32)).numpy()
                regret = metrics.regret(
                    "ortools.knapsack", predicted, c[1000:], solver_options=options, true_obj=z_test
                )
                results.append((regret, seconds))
            r = 100 * np.array([r for r, _ in results])
            t = np.array([t for _, t in results])
            spread = f" ± {r.std(ddof=1):.2f}" if len(r) > 1 else ""
            print(
                f"| {method} | {name} | {r.mean():.2f}{spread} % | {t.mean():.1f} s |", flush=True
            )


if __name__ == "__main__":
    main()
