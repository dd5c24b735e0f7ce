"""Every method that PyEPO and perturbopt both have, side by side on PyEPO's 5x5 shortest path.

Runs in the benchmark venv ``benchmarks/.env`` (PyEPO is never a dependency of ours;
see bench_pyepo.py for how to build it).

Protocol (PyEPO's notebook 03, as issue 18 measured it): ``genData(2000, 5, (5, 5),
deg=4, noise_width=0.5, seed=135)``, 1000 train / 1000 test, a linear model 5 -> 40,
Adam 1e-2, batch 32, 20 epochs; per seed the same initial weights and batch order for
every candidate. Hyperparameters: PG sigma 0.1; DBB lambda 20; DPO, PFY, I-MLE, AI-MLE 3
samples, sigma 1 (I-MLE lambda 10); NCE, CMAP and the LTR losses solve_ratio 0.05 with
the training labels as the pool (PyEPO's ``dataset``); PFY also at solve_ratio 0.1.
The layers (DBB, NID, I-MLE, AI-MLE) train on the decision loss ``<c, w> - z*``, DPO on
the L1 distance to the true solution. Regret: PyEPO's normalised regret on the test
set, computed for every candidate by ``perturbopt.metrics.regret`` (identical optimal
paths for both solvers). Torch runs on one thread for everyone.

Candidates per method: PyEPO with its OR-Tools GLOP model (``processes=1``; add
``--processes 1 2`` for both), perturbopt on the same LP (``ortools.model_builder``,
GLOP) and on its fastest solver for this grid (``scipy.grid_shortest_path_edges``).

``--check`` compares instead, on one batch, the losses and gradients of the methods
that are deterministic (SPO+, PG, DBB, NID, NCE, CMAP and the three LTR losses) in both
libraries.

Run: benchmarks/.env/bin/python benchmarks/bench_methods.py [--check] [--seeds 0 1 2]
    [--epochs 20] [--methods SPO+ PFY ...] [--processes 1 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyepo
import torch
from bench_pyepo import GRID, SEED, model_builder_lp

import perturbopt
import perturbopt.torch as pt
from perturbopt import metrics

FAST = ("scipy.grid_shortest_path_edges", {"grid": GRID})
LP = ("ortools.model_builder", model_builder_lp(GRID))
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
METHODS = (
    "SPO+",
    "PG",
    "DBB",
    "NID",
    "DPO",
    "PFY",
    "PFY solve_ratio 0.1",
    "IMLE",
    "AIMLE",
    "NCE",
    "CMAP",
    "lsLTR",
    "prLTR",
    "ptLTR",
)


def decision(w: torch.Tensor, c: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return ((w * c).sum(dim=1) - z).mean()


def pyepo_step(method: str, optmodel: Any, processes: int, train: Any, seed: int) -> Step:
    """PyEPO's module for ``method`` as a training step."""
    f = pyepo.func
    pool = {"processes": processes, "solve_ratio": 0.05, "dataset": train}
    if method == "SPO+":
        spo = f.SPOPlus(optmodel, processes=processes)
        return lambda cp, c, w, z: spo(cp, c, w, z)
    if method == "PG":
        pg = f.perturbationGradient(optmodel, sigma=0.1, processes=processes)
        return lambda cp, c, w, z: pg(cp, c)
    if method == "DBB":
        dbb = f.blackboxOpt(optmodel, lambd=20, processes=processes)
        return lambda cp, c, w, z: decision(dbb(cp), c, z)
    if method == "NID":
        nid = f.negativeIdentity(optmodel, processes=processes)
        return lambda cp, c, w, z: decision(nid(cp), c, z)
    if method == "DPO":
        dpo = f.perturbedOpt(optmodel, n_samples=3, sigma=1.0, processes=processes, seed=seed)
        return lambda cp, c, w, z: (dpo(cp) - w).abs().mean()
    if method.startswith("PFY"):
        ratio = 0.1 if "0.1" in method else 1.0
        pfy = f.perturbedFenchelYoung(
            optmodel, n_samples=3, sigma=1.0, processes=processes, seed=seed,
            solve_ratio=ratio, dataset=train if ratio < 1 else None,
        )  # fmt: skip
        return lambda cp, c, w, z: pfy(cp, w)
    if method in ("IMLE", "AIMLE"):
        np.random.seed(seed)  # PyEPO's sum-of-gamma noise draws from numpy's global state
        layer = (
            f.implicitMLE(optmodel, n_samples=3, sigma=1.0, lambd=10, processes=processes)
            if method == "IMLE"
            else f.adaptiveImplicitMLE(optmodel, n_samples=3, sigma=1.0, processes=processes)
        )
        return lambda cp, c, w, z: decision(layer(cp), c, z)
    if method in ("NCE", "CMAP"):
        loss = (f.NCE if method == "NCE" else f.contrastiveMAP)(optmodel, **pool)
        return lambda cp, c, w, z: loss(cp, w)
    ltr = {"lsLTR": f.lsLTR, "prLTR": f.prLTR, "ptLTR": f.ptLTR}[method]
    loss = ltr(optmodel, **pool)
    return lambda cp, c, w, z: loss(cp, c)


def our_step(
    method: str, solver: tuple[str, dict[str, Any]], labels: torch.Tensor, seed: int
) -> Step:
    """perturbopt's module for ``method`` over ``solver`` as a training step."""
    name, options = solver
    kw: dict[str, Any] = {"solver_options": options, "n_jobs": 1}
    pool = {"pool": labels, "solve_ratio": 0.05, "seed": seed}
    if method == "SPO+":
        spo = pt.SPOPlus(name, **kw)
        return lambda cp, c, w, z: spo(cp, c, w, z)
    if method == "PG":
        pg = pt.PerturbationGradientLoss(name, sigma=0.1, **kw)
        return lambda cp, c, w, z: pg(cp, c)
    if method == "DBB":
        dbb = pt.BlackboxOptimizer(name, lambda_=20.0, **kw)
        return lambda cp, c, w, z: decision(dbb(cp), c, z)
    if method == "NID":
        nid = pt.NegativeIdentity(name, **kw)
        return lambda cp, c, w, z: decision(nid(cp), c, z)
    if method == "DPO":
        dpo = pt.PerturbedOptimizer(name, epsilon=1.0, num_samples=3, seed=seed, **kw)
        return lambda cp, c, w, z: (dpo(cp) - w).abs().mean()
    if method.startswith("PFY"):
        extra = {"solve_ratio": 0.1, "pool": labels} if "0.1" in method else {}
        pfy = pt.FenchelYoungLoss(name, epsilon=1.0, num_samples=3, seed=seed, **extra, **kw)
        return lambda cp, c, w, z: pfy(cp, w)
    if method in ("IMLE", "AIMLE"):
        layer = (
            pt.IMLE(name, num_samples=3, lambda_=10.0, seed=seed, **kw)
            if method == "IMLE"
            else pt.AdaptiveIMLE(name, num_samples=3, seed=seed, **kw)
        )
        return lambda cp, c, w, z: decision(layer(cp), c, z)
    if method in ("NCE", "CMAP"):
        loss = (pt.NCELoss if method == "NCE" else pt.ContrastiveMAPLoss)(name, **pool, **kw)
        return lambda cp, c, w, z: loss(cp, w)
    ltr = {"lsLTR": pt.ListwiseLTRLoss, "prLTR": pt.PairwiseLTRLoss, "ptLTR": pt.PointwiseLTRLoss}
    loss = ltr[method](name, **pool, **kw)
    return lambda cp, c, w, z: loss(cp, c)


def data() -> tuple[Any, ...]:
    x, c = pyepo.data.shortestpath.genData(2000, 5, GRID, deg=4, noise_width=0.5, seed=SEED)
    w = perturbopt.perturbed(FAST[0], solver_options=FAST[1]).hard(c)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.float32)

    return t(x), t(c), t(w), t((c * w).sum(axis=1)), c


def train(step: Step, tensors: tuple[Any, ...], seed: int, epochs: int) -> tuple[float, float]:
    """Train a fresh model with ``step``; return (test regret, training seconds)."""
    x, c, w, z, costs = tensors
    torch.manual_seed(seed)
    model = torch.nn.Linear(5, 40)
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
    seconds = time.perf_counter() - started
    with torch.no_grad():
        predicted = model(x[1000:]).numpy()
    regret = metrics.regret(FAST[0], predicted, costs[1000:], solver_options=FAST[1])
    return regret, seconds


def check(optmodel: Any, train_set: Any, tensors: tuple[Any, ...]) -> None:
    """Losses and gradients of the deterministic methods, both libraries, one batch."""
    x, c, w, z, _ = tensors
    torch.manual_seed(0)
    pred = torch.nn.Linear(5, 40)(x[:32]).detach()
    g = torch.randn(32, 40)
    labels = w[:1000]
    for method in ("SPO+", "PG", "DBB", "NID", "NCE", "CMAP", "lsLTR", "prLTR", "ptLTR"):
        out = []
        for lib in ("pyepo", "ours"):
            if lib == "pyepo":
                step = pyepo_step(method, optmodel, 1, train_set, 0)
            else:
                step = our_step(method, FAST, labels, 0)
            cp = pred.clone().requires_grad_(True)
            if method in ("DBB", "NID"):
                layer = step.__closure__[0].cell_contents  # type: ignore[index]
                value = (layer(cp) * g).sum()
            else:
                value = step(cp, c[:32], w[:32], z[:32])
            value.backward()
            out.append((float(value), cp.grad.clone()))
        (v1, g1), (v2, g2) = out
        print(
            f"{method:<6} loss pyepo {v1:10.5f} ours {v2:10.5f}   "
            f"max |grad difference| {float((g1 - g2).abs().max()):.2e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--processes", type=int, nargs="+", default=[1])
    parser.add_argument("--skip", nargs="*", default=[], help="candidates to leave out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optmodel = pyepo.model.ort.shortestPathModel(GRID, solver="glop")
    tensors = data()
    x, c = tensors[0].numpy(), tensors[4]
    train_set = pyepo.data.dataset.optDataset(optmodel, x[:1000], c[:1000])
    if args.check:
        check(optmodel, train_set, tensors)
        return
    labels = tensors[2][:1000]
    print("| method | candidate | regret (mean over seeds) | time (mean) |")
    print("|---|---|---:|---:|")
    for method in args.methods:
        builders: dict[str, Callable[[int], Step]] = {}
        for p in args.processes:
            builders[f"PyEPO GLOP processes={p}"] = lambda s, p=p, m=method: pyepo_step(
                m, optmodel, p, train_set, s
            )
        builders["perturbopt model_builder GLOP"] = lambda s, m=method: our_step(m, LP, labels, s)
        builders["perturbopt scipy grid DP"] = lambda s, m=method: our_step(m, FAST, labels, s)
        for name, build in builders.items():
            if name in args.skip:
                continue
            runs = [train(build(s), tensors, s, args.epochs) for s in args.seeds]
            regret = 100 * np.mean([r for r, _ in runs])
            seconds = np.mean([t for _, t in runs])
            print(f"| {method} | {name} | {regret:.2f} % | {seconds:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
