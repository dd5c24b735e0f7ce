"""Solving with a solver you do not trust: timeouts, crashes, memory, reproducibility.

A "solver" that hangs on some inputs and kills its process on others, as a buggy
native library might. With ``timeout=`` and ``isolate=True`` every solve runs in a
worker process: a hang becomes a ``SolverTimeoutError``, a crash a
``SolverCrashError``, each naming the sample and batch item, and the same object keeps
working. A request too big for the machine is refused before anything is allocated.

Run: python examples/robust_solving.py
"""

from __future__ import annotations

import os
import time

import numpy as np

import perturbopt


class Unreliable:
    """argmax that hangs when the first score is above 3.5 and crashes below -3.5."""

    sense = "max"
    name = "unreliable"

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        if theta[0] > 3.5:
            time.sleep(3600)
        if theta[0] < -3.5:
            os._exit(11)  # what a segfault in native code looks like from outside
        return np.eye(theta.shape[0])[np.argmax(theta)]


def main() -> None:
    po = perturbopt.perturbed(
        Unreliable(), epsilon=1.0, num_samples=50, seed=0, timeout=0.5, isolate=True, n_jobs=2
    )
    for label, theta in (
        ("hangs", [[3.0, 0.0, 0.0]]),
        ("crashes", [[-3.0, 0.0, 0.0]]),
        ("behaves", [[0.0, 0.5, 0.2]]),
    ):
        started = time.monotonic()
        try:
            mean = po(np.array(theta))
            print(f"{label}: y_eps = {mean.round(2)}", end="")
        except perturbopt.SolverError as error:
            print(
                f"{label}: {type(error).__name__} on sample {error.sample} of batch item "
                f"{error.batch_item}",
                end="",
            )
        print(f" ({time.monotonic() - started:.1f} s)")

    # A call that would not fit in memory is refused before anything is drawn.
    huge = perturbopt.perturbed("argmax", num_samples=10**9)
    try:
        huge(np.zeros(3))
    except perturbopt.MemoryLimitError as error:
        print("refused:", str(error).split(";")[0])

    # The same seed gives the same bits on one thread, two threads or two processes.
    theta = np.random.default_rng(0).normal(size=(4, 6))
    runs = [
        perturbopt.perturbed("ranking", num_samples=64, seed=7, n_jobs=n).solve(theta)
        for n in (1, 2)
    ]
    print(
        "n_jobs=1 and n_jobs=2 bit-identical:",
        runs[0].samples.tobytes() == runs[1].samples.tobytes(),
    )
    perturbopt.shutdown_pools()


if __name__ == "__main__":
    main()
