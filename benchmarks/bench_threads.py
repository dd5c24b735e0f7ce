"""Two threads against one: does each plugin solver release the GIL?

For every solver the plugins ship, at the sizes of bench_solvers.py: a serial loop of
``N`` solves with one instance, against two threads that each build their own
instance and solve ``N / 2`` (the way the engine runs a solver that declares
``releases_gil = True``). The ``N`` inputs are the instance's ``theta`` with a little
noise (multiplied by ``exp(0.1 Z)``, so positive costs stay positive), ``N`` sized for
about ``--seconds`` of serial work. Both runs must give identical solutions. The two
are timed in alternating rounds and summarised by their medians; the 2-thread
speed-up is the median over rounds of serial time / threaded time (each pair measured
back to back, so a burst of load from other processes hits both). Solvers with a vectorised ``solve_batch`` are
timed that way too: one call on all ``N`` rows, against two threads with ``N / 2`` each.

A solver declares ``releases_gil = True`` when its speed-up is at least THRESHOLD
(1.3: clearly above the 1.0 of a solver that holds the GIL, and above the noise of a
shared 2-core machine) and its solutions are identical.

Run: python benchmarks/bench_threads.py [--seconds 0.2] [--rounds 9] [--only NAME]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from _timing import interleaved_samples, load, machine
from bench_solvers import cases

import perturbopt

THRESHOLD = 1.3
"""The 2-thread speed-up from which a solver declares ``releases_gil = True``."""


def _inputs(theta: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` inputs near ``theta``: ``theta * exp(0.1 Z)``, signs kept."""
    return theta * np.exp(0.1 * rng.standard_normal((count, *theta.shape)))


def _size(solve: Callable[[], object], rows: int, seconds: float) -> int:
    """An even number of rows that takes about ``seconds`` to solve (at least 20, at most
    200000), timing a call ``solve`` that solves ``rows`` rows."""
    start = time.perf_counter()
    runs = 0
    while runs < 5 or time.perf_counter() - start < 0.05:
        solve()
        runs += 1
    per_row = (time.perf_counter() - start) / (runs * rows)
    return int(np.clip(seconds / per_row, 20, 200000)) // 2 * 2


def _in_two_threads(work: Callable[[int], np.ndarray]) -> list[np.ndarray]:
    """Run ``work(0)`` and ``work(1)`` in two threads; their results in that order."""
    results: list[np.ndarray] = [np.empty(0), np.empty(0)]

    def run(half: int) -> None:
        results[half] = work(half)

    threads = [threading.Thread(target=run, args=(half,)) for half in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def measure(name: str, options: dict[str, Any], thetas: np.ndarray, rounds: int,
            batched: bool) -> dict[str, Any]:
    """Serial against two threads for one solver: times, speed-up, identical results."""
    solvers = [perturbopt.get_solver(name, **options) for _ in range(2)]
    halves = np.split(thetas, 2)

    def solve_all(solver: Any, rows: np.ndarray) -> np.ndarray:
        if batched:
            return np.asarray(solver.solve_batch(rows))
        return np.stack([solver.solve(theta) for theta in rows])

    expected = solve_all(solvers[0], thetas)
    threaded = np.concatenate(_in_two_threads(lambda half: solve_all(solvers[half],
                                                                      halves[half])))
    times = interleaved_samples({
        "serial": lambda: solve_all(solvers[0], thetas),
        "threads": lambda: _in_two_threads(lambda half: solve_all(solvers[half],
                                                                   halves[half])),
    }, rounds=rounds)
    ratios = [a / b for a, b in zip(times["serial"], times["threads"])]
    return {"serial": statistics.median(times["serial"]),
            "threads": statistics.median(times["threads"]), "speedup": statistics.median(ratios),
            "identical": bool(np.array_equal(expected, threaded)),
            "declared": bool(getattr(solvers[0], "releases_gil", False))}


def run(seconds: float = 0.2, rounds: int = 9, only: str | None = None) -> list[str]:
    """The markdown table of every solver's 2-thread speed-up."""
    rng = np.random.default_rng(0)
    lines = [(f"Serial loop of N solves (one instance) against two threads with an instance "
              f"each solving N/2; medians of {rounds} alternating rounds (speed-up: median of "
              f"the per-round ratios), on {machine()}, {load()} at the start. "
              f"Declare `releases_gil = True` from a speed-up of {THRESHOLD}."), "",
             ("| solver | instance | call | N | ms per solve | serial (s) | 2 threads (s) | "
              "speed-up | identical | releases_gil |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, name, options, theta in cases(rng):
        if only is not None and name != only:
            continue
        solver = perturbopt.get_solver(name, **options)
        calls = ["solve"] + (["solve_batch"] if hasattr(solver, "solve_batch") else [])
        for call in calls:
            batched = call == "solve_batch"
            stack = _inputs(theta, 100, rng)
            count = _size(partial(solver.solve_batch, stack) if batched else
                          partial(solver.solve, theta), 100 if batched else 1, seconds)
            thetas = _inputs(theta, count, rng)
            found = measure(name, options, thetas, rounds, batched)
            lines.append(
                f"| `{name}` | {label} | `{call}` | {count} | "
                f"{found['serial'] / count * 1e3:.4f} | {found['serial']:.3f} | "
                f"{found['threads']:.3f} | {found['speedup']:.2f} | "
                f"{'yes' if found['identical'] else 'NO'} | "
                f"{'declared' if found['declared'] else '-'} |")
    return lines + ["", f"({load()} at the end)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.2,
                        help="serial work per round and solver")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", help="one solver's registry name")
    args = parser.parse_args()
    print("\n".join(run(args.seconds, args.rounds, args.only)))


if __name__ == "__main__":
    main()
