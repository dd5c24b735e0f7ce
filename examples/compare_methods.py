"""Train the same linear model with every method on PyEPO's 5 x 5 shortest path, and print
each method's test regret and training time.

The protocol of PyEPO's notebook 03 (5 features, degree 4, noise half-width 0.5, a
linear model, Adam with step 1e-2, batches of 32), shorter by default (400 training
instances, 5 epochs) so that it runs in seconds; ``--train 1000 --test 1000
--epochs 20`` is the full one. Every method uses the same solver, ``scipy.grid_shortest_path_edges`` (a vectorised dynamic
programme), through the same engine::

    python examples/compare_methods.py [--train N] [--test N] [--epochs E] [--seed S]
        [--solver scipy|ortools] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from perturbopt_scipy import grid_arcs

import perturbopt
import perturbopt.torch as pt
from perturbopt import metrics
from perturbopt.experiments.linear_shortest_path import make_linear_shortest_path

GRID = (5, 5)
SOLVERS = {
    "scipy": ("scipy.grid_shortest_path_edges", {"grid": GRID}),
    # the same arcs as a min-cost flow (each solve a call into OR-Tools)
    "ortools": (
        "ortools.shortest_path",
        {"edges": grid_arcs(GRID), "num_nodes": GRID[0] * GRID[1], "source": 0, "target": 24},
    ),
}

# A step takes (costs predicted, true costs, true solutions, true objectives) -> loss.
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def decision_loss(
    solution: torch.Tensor, costs: torch.Tensor, objective: torch.Tensor
) -> torch.Tensor:
    """The mean regret ``<c, w> - z*(c)`` of (possibly averaged) solutions ``w``."""
    return ((solution * costs).sum(dim=1) - objective).mean()


def methods(solver: str, seed: int, labels: torch.Tensor) -> dict[str, Step]:
    """Every method over ``solver`` (a key of ``SOLVERS``), built once, as a training
    step (PyEPO's hyperparameters)."""
    name, options = SOLVERS[solver]
    kw = {"solver_options": options}
    spo = pt.SPOPlus(name, **kw)
    pg = pt.PerturbationGradientLoss(name, sigma=0.1, **kw)
    dbb = pt.BlackboxOptimizer(name, lambda_=20.0, **kw)
    nid = pt.NegativeIdentity(name, **kw)
    dpo = pt.PerturbedOptimizer(name, epsilon=1.0, num_samples=3, seed=seed, **kw)
    pfy = pt.FenchelYoungLoss(name, epsilon=1.0, num_samples=3, seed=seed, **kw)
    pfy_pool = pt.FenchelYoungLoss(
        name, epsilon=1.0, num_samples=3, seed=seed, solve_ratio=0.1, pool=labels, **kw
    )
    imle = pt.IMLE(name, num_samples=3, lambda_=10.0, seed=seed, **kw)
    aimle = pt.AdaptiveIMLE(name, num_samples=3, seed=seed, **kw)
    pool = {"pool": labels, "solve_ratio": 0.05, "seed": seed}
    nce = pt.NCELoss(name, **pool, **kw)
    cmap = pt.ContrastiveMAPLoss(name, **pool, **kw)
    ls = pt.ListwiseLTRLoss(name, **pool, **kw)
    pr = pt.PairwiseLTRLoss(name, **pool, **kw)
    ptw = pt.PointwiseLTRLoss(name, **pool, **kw)
    return {
        "SPO+": lambda cp, c, w, z: spo(cp, c, w, z),
        "PG": lambda cp, c, w, z: pg(cp, c),
        "DBB": lambda cp, c, w, z: decision_loss(dbb(cp), c, z),
        "NID": lambda cp, c, w, z: decision_loss(nid(cp), c, z),
        "DPO": lambda cp, c, w, z: (dpo(cp) - w).abs().mean(),
        "PFY": lambda cp, c, w, z: pfy(cp, w),
        "PFY, solve_ratio 0.1": lambda cp, c, w, z: pfy_pool(cp, w),
        "I-MLE": lambda cp, c, w, z: decision_loss(imle(cp), c, z),
        "AI-MLE": lambda cp, c, w, z: decision_loss(aimle(cp), c, z),
        "NCE": lambda cp, c, w, z: nce(cp, w),
        "CMAP": lambda cp, c, w, z: cmap(cp, w),
        "listwise LTR": lambda cp, c, w, z: ls(cp, c),
        "pairwise LTR": lambda cp, c, w, z: pr(cp, c),
        "pointwise LTR": lambda cp, c, w, z: ptw(cp, c),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="run only these methods")
    parser.add_argument("--solver", choices=sorted(SOLVERS), default="scipy")
    args = parser.parse_args(argv)
    solver, options = SOLVERS[args.solver]
    kw = {"solver_options": options}
    torch.set_num_threads(1)  # a tiny model: torch's threads would only fight the solvers
    data = make_linear_shortest_path(args.train + args.test, grid=GRID, seed=args.seed)
    x = torch.tensor(data.features, dtype=torch.float32)
    c = torch.tensor(data.costs, dtype=torch.float32)
    solutions = perturbopt.perturbed(solver, **kw).hard(data.costs)  # w*(c), batched
    w = torch.tensor(solutions, dtype=torch.float32)
    z = (c * w).sum(dim=1)
    train, test = slice(0, args.train), slice(args.train, None)
    steps = methods(args.solver, args.seed, w[train])
    print(f"{'method':<22} {'test regret':>11} {'time':>7}")
    torch.manual_seed(args.seed)
    with torch.no_grad():
        untrained = torch.nn.Linear(x.shape[1], c.shape[1])(x[test]).numpy()
    regret = metrics.regret(solver, untrained, data.costs[test], **kw)
    print(f"{'(untrained)':<22} {100 * regret:>10.2f}% {0.0:>6.1f}s")
    for name, step in steps.items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(args.seed)
        model = torch.nn.Linear(x.shape[1], c.shape[1])
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        order = np.random.default_rng(args.seed)
        started = time.perf_counter()
        for _ in range(args.epochs):
            for batch in np.array_split(order.permutation(args.train), max(1, args.train // 32)):
                index = torch.as_tensor(batch)
                loss = step(model(x[index]), c[index], w[index], z[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        seconds = time.perf_counter() - started
        with torch.no_grad():
            predicted = model(x[test]).numpy()
        regret = metrics.regret(solver, predicted, data.costs[test], **kw)
        print(f"{name:<22} {100 * regret:>10.2f}% {seconds:>6.1f}s")


if __name__ == "__main__":
    main()
