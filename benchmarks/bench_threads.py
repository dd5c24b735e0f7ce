"""Two threads against one: does each plugin solver release the GIL?

For every solver the plugins ship, at the sizes of bench_solvers.py: a serial loop of
``N`` solves with one instance, against two threads that each build their own
instance and solve ``N / 2`` (the way the engine runs a solver that declares
``releases_gil = True``). The ``N`` inputs are the instance's ``theta`` with a little
noise (multiplied by ``exp(0.1 Z)``, so positive costs stay positive), ``N`` sized for
about ``--seconds`` of serial work. Both runs must give identical solutions. The two
are timed in alternating rounds; the 2-thread speed-up is the median over rounds of
serial time / threaded time (each pair measured back to back). Solvers with a
vectorised ``solve_batch`` are timed that way too: one call on all ``N`` rows, against
two threads with ``N / 2`` each.

A solver declares ``releases_gil = True`` when its speed-up is at least THRESHOLD
(1.3: clearly above the 1.0 of a solver that holds the GIL, and above the noise of a
shared 2-core machine) and its solutions are identical. Other processes on the machine
take cores from the threads, and come and go within seconds: so every round also times
a reference that releases the GIL throughout (``hashlib.sha256`` of 1 MiB blocks, serial
and on two threads), and only the rounds in which the reference ran at least QUIET
(1.6) times faster on two threads count towards the speed-up; rounds go on until
``--quiet-rounds`` of them were quiet.

Run: python benchmarks/bench_threads.py [--seconds 0.2] [--quiet-rounds 5] [--max-rounds 40]
[--only NAME]
"""

from __future__ import annotations

import argparse
import hashlib
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

QUIET = 1.6
"""A round counts when the GIL-free reference ran at least this much faster on two
threads in it: other processes left the two cores to this benchmark."""


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


class _Sha256:
    """The reference: hashing 1 MiB blocks releases the GIL all the time."""

    def solve(self, theta: np.ndarray) -> np.ndarray:
        digest = hashlib.sha256(np.broadcast_to(theta, (1 << 17,)).tobytes()).digest()
        return np.frombuffer(digest, dtype=np.uint8)


def _reference() -> dict[str, Callable[[], object]]:
    """The serial and threaded runs of the GIL-free reference (about 0.1 s serial)."""
    solvers = [_Sha256(), _Sha256()]
    thetas = np.arange(200.0)
    halves = np.split(thetas, 2)
    return {
        "reference serial": lambda: [solvers[0].solve(theta) for theta in thetas],
        "reference threads": lambda: _in_two_threads(
            lambda half: np.stack([solvers[half].solve(theta) for theta in halves[half]])
        ),
    }


def two_threads_against_one(
    solve_all: Callable[[Any, np.ndarray], np.ndarray],
    solvers: list[Any],
    thetas: np.ndarray,
    quiet_rounds: int = 5,
    max_rounds: int = 40,
) -> dict[str, Any]:
    """``solve_all(solvers[0], thetas)`` against two threads, each solving half the rows
    with its own solver: times, speed-up over the quiet rounds, identical results.

    Rounds go on until ``quiet_rounds`` of them were quiet, or ``max_rounds`` were run.
    """
    halves = np.split(thetas, 2)
    expected = solve_all(solvers[0], thetas)
    threaded = np.concatenate(_in_two_threads(lambda half: solve_all(solvers[half], halves[half])))
    candidates = {
        "serial": lambda: solve_all(solvers[0], thetas),
        "threads": lambda: _in_two_threads(lambda half: solve_all(solvers[half], halves[half])),
        **_reference(),
    }
    times: dict[str, list[float]] = {run_name: [] for run_name in candidates}
    quiet: list[int] = []
    while len(quiet) < quiet_rounds and len(times["serial"]) < max_rounds:
        warmup = 0 if times["serial"] else 1
        for run_name, values in interleaved_samples(candidates, rounds=1, warmup=warmup).items():
            times[run_name] += values
        if times["reference serial"][-1] / times["reference threads"][-1] >= QUIET:
            quiet.append(len(times["serial"]) - 1)
    ceiling = [
        a / b for a, b in zip(times["reference serial"], times["reference threads"], strict=True)
    ]
    ratios = [times["serial"][i] / times["threads"][i] for i in quiet]
    return {
        "serial": statistics.median(times["serial"]),
        "threads": statistics.median(times["threads"]),
        "speedup": statistics.median(ratios) if ratios else float("nan"),
        "rounds": len(times["serial"]),
        "quiet": len(quiet),
        "ceiling": statistics.median(ceiling),
        "identical": bool(np.array_equal(expected, threaded)),
    }


def measure(
    name: str,
    options: dict[str, Any],
    thetas: np.ndarray,
    batched: bool,
    quiet_rounds: int,
    max_rounds: int,
) -> dict[str, Any]:
    """Serial against two threads for one registered solver (see
    :func:`two_threads_against_one`), and whether it declares ``releases_gil``."""
    solvers = [perturbopt.get_solver(name, **options) for _ in range(2)]

    def solve_all(solver: Any, rows: np.ndarray) -> np.ndarray:
        if batched:
            return np.asarray(solver.solve_batch(rows))
        return np.stack([solver.solve(theta) for theta in rows])

    found = two_threads_against_one(solve_all, solvers, thetas, quiet_rounds, max_rounds)
    return {**found, "declared": bool(getattr(solvers[0], "releases_gil", False))}


def run(
    seconds: float = 0.2, quiet_rounds: int = 5, max_rounds: int = 40, only: str | None = None
) -> list[str]:
    """The markdown table of every solver's 2-thread speed-up."""
    rng = np.random.default_rng(0)
    lines = [
        (
            f"Serial loop of N solves (one instance) against two threads with an instance "
            f"each solving N/2, in alternating rounds until {quiet_rounds} were quiet (at "
            f"most {max_rounds}); times: medians over all rounds; speed-up: median of the "
            f"per-round ratios over the quiet rounds; on {machine()}, {load()} at the start. "
            f"Declare `releases_gil = True` from a speed-up of {THRESHOLD}."
        ),
        "",
        (
            "| solver | instance | call | N | ms per solve | serial (s) | 2 threads (s) | "
            "quiet rounds | reference speed-up | speed-up | identical | releases_gil |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, name, options, theta in cases(rng):
        if only is not None and name != only:
            continue
        solver = perturbopt.get_solver(name, **options)
        calls = ["solve"] + (["solve_batch"] if hasattr(solver, "solve_batch") else [])
        for call in calls:
            batched = call == "solve_batch"
            stack = _inputs(theta, 100, rng)
            count = _size(
                partial(solver.solve_batch, stack) if batched else partial(solver.solve, theta),
                100 if batched else 1,
                seconds,
            )
            thetas = _inputs(theta, count, rng)
            found = measure(name, options, thetas, batched, quiet_rounds, max_rounds)
            lines.append(
                f"| `{name}` | {label} | `{call}` | {count} | "
                f"{found['serial'] / count * 1e3:.4f} | {found['serial']:.3f} | "
                f"{found['threads']:.3f} | {found['quiet']}/{found['rounds']} | "
                f"{found['ceiling']:.2f} | {found['speedup']:.2f} | "
                f"{'yes' if found['identical'] else 'NO'} | "
                f"{'declared' if found['declared'] else '-'} |"
            )
    return lines + ["", f"({load()} at the end)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=0.2, help="serial work per round and solver"
    )
    parser.add_argument(
        "--quiet-rounds", type=int, default=5, help="quiet rounds to collect per solver"
    )
    parser.add_argument("--max-rounds", type=int, default=40)
    parser.add_argument("--only", help="one solver's registry name")
    args = parser.parse_args()
    print("\n".join(run(args.seconds, args.quiet_rounds, args.max_rounds, args.only)))


if __name__ == "__main__":
    main()
