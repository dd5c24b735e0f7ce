"""Scaling: time against M and against B, and the memory a result holds for backward.

Time: median wall time of ``po.solve(theta)`` (``n_jobs=1``), reported as
``time / (M x B)`` in microseconds per solve, which should stay flat as ``M`` or ``B``
grows. Two solvers: the vectorised built-in ``argmax`` (d=100) and a per-row solver,
``scipy.assignment`` (20 x 20).

Memory: what a ``PerturbedResult`` keeps for the backward pass, ``samples`` (compact
int8 for 0/1 solutions) plus ``noise`` (float64, unless ``keep_noise=False``), against
keeping both in float64, and the peaks of allocations during the solve and during the
solve and one VJP (``tracemalloc``). Target: with ``keep_noise=False`` the peak of one
argmax solve + VJP at M=1000, B=256, d=100 is at most 1.5x the solutions it keeps.

Run: python benchmarks/bench_scaling.py [--quick]
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np
from _timing import interleaved, machine

import perturbopt

SOLVERS = {"argmax": (100,), "scipy.assignment": (20, 20)}


def per_solve_us(name: str, samples: int, batch: int, rounds: int) -> float:
    """Median microseconds per solve of one ``po.solve`` of ``samples x batch`` problems."""
    theta = np.random.default_rng(0).random((batch,) + SOLVERS[name])
    po = perturbopt.perturbed(name, epsilon=0.5, num_samples=samples, seed=0, n_jobs=1)
    seconds = interleaved({"solve": lambda: po.solve(theta)}, rounds=rounds)["solve"]
    return seconds / (samples * batch) * 1e6


def time_table(name: str, quick: bool) -> list[str]:
    """Rows of ``time / (M x B)`` for M at fixed B, then B at fixed M."""
    ms = (10, 100) if quick else (10, 100, 1000)
    bs = (1, 16) if quick else (1, 16, 256)
    if name != "argmax":  # a per-row solver: keep each call under a few seconds
        ms, bs = ms[:2] if quick else (10, 100, 400), bs[:2] if quick else (1, 4, 16)
    rounds = 1 if quick else 3
    rows = [
        f"| {name} | M={m}, B={bs[1]} | {per_solve_us(name, m, bs[1], rounds):.2f} |" for m in ms
    ]
    rows += [
        f"| {name} | M={ms[1]}, B={b} | {per_solve_us(name, ms[1], b, rounds):.2f} |" for b in bs
    ]
    return rows


def memory_row(name: str, samples: int, batch: int, keep_noise: bool) -> str:
    """Bytes held by one result for backward (samples, and the noise unless released),
    against float64 samples and noise, and the peaks of the solve and of solve + VJP
    above what was allocated before (``tracemalloc``, which numpy reports to)."""
    theta = np.random.default_rng(0).random((batch,) + SOLVERS[name])
    po = perturbopt.perturbed(
        name, epsilon=0.5, num_samples=samples, seed=0, n_jobs=1, keep_noise=keep_noise
    )
    g = np.ones(theta.shape)
    tracemalloc.start()
    result = po.solve(theta)
    solve_peak = tracemalloc.get_traced_memory()[1]
    result.vjp(g)
    vjp_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    noise = 0 if result.noise_cache is None else result.noise_cache.nbytes
    held = result.samples.nbytes + noise
    as_float = result.samples.size * 8 * 2
    mb = 1 / 2**20
    ratio = vjp_peak / result.samples.nbytes
    return (
        f"| {name} | M={samples}, B={batch} | {keep_noise} | {result.samples.dtype} | "
        f"{result.samples.nbytes * mb:.1f} | {noise * mb:.1f} | "
        f"{held * mb:.1f} | {as_float * mb:.1f} | {held / as_float:.3f} | "
        f"{solve_peak * mb:.1f} | {vjp_peak * mb:.1f} | {ratio:.2f} |"
    )


def run(quick: bool = False) -> list[str]:
    """Two markdown tables: time per solve, and memory."""
    lines = [
        f"Time per solve, n_jobs=1, on {machine()}",
        "",
        "| solver | size | us per solve = time / (M B) |",
        "|---|---|---|",
    ]
    for name in SOLVERS:
        lines += time_table(name, quick)
    big = (100, 16) if quick else (1000, 256)
    lines += [
        "",
        (
            "Memory held for the backward pass (MiB); target: the peak of one solve + "
            "VJP with keep_noise=False at most 1.5x the solutions it keeps"
        ),
        "",
        (
            "| solver | size | keep_noise | samples dtype | samples | noise | held | "
            "if float64 | held / float64 | peak of the solve | peak of solve + VJP | "
            "peak / samples |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        memory_row(name, *size, keep_noise)
        for name, size in (("argmax", big), ("scipy.assignment", (100, 16)))
        for keep_noise in (True, False)
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller M and B")
    args = parser.parse_args()
    print("\n".join(run(args.quick)))


if __name__ == "__main__":
    main()
