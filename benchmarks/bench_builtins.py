"""Perturbed built-in solvers against their floor, drawing the noise alone.

B=256 instances of d=100, M=1000 perturbations: 25.6 million noisy entries per call.
Target: perturbed solve (mean, value and samples) <= 2x the time to draw the noise.

Run: python benchmarks/bench_builtins.py [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

import perturbopt
from _timing import interleaved, machine


def run(rounds: int = 5, batch: int = 256, dim: int = 100, samples: int = 1000,
        quick: bool = False) -> list[str]:
    """Markdown table: one row per solver and noise; ``quick`` uses M=100, 1 round."""
    if quick:
        rounds, samples = 1, 100
    theta = np.random.default_rng(0).normal(size=(batch, dim))
    lines = [f"B={batch}, d={dim}, M={samples} on {machine()}", "",
             "| solver | noise | draw noise (s) | perturbed solve (s) | ratio | target <= 2 |",
             "|---|---|---|---|---|---|"]
    for noise in ("gaussian", "gumbel"):
        sampler = perturbopt.get_noise(noise)
        rng = np.random.default_rng(1)
        for name, options in (("argmax", {}), ("topk", {"k": 10}), ("ranking", {}), ("sign", {})):
            po = perturbopt.perturbed(name, solver_options=options, epsilon=0.5,
                                      num_samples=samples, noise=noise, seed=0)

            def perturbed_solve() -> None:
                result = po.solve(theta)
                result.mean, result.value  # noqa: B018 - the estimators, as users read them

            times = interleaved({
                "noise": lambda: sampler.sample(rng, (samples, batch, dim)),
                "solve": perturbed_solve,
            }, rounds=rounds)
            ratio = times["solve"] / times["noise"]
            lines.append(f"| {name} | {noise} | {times['noise']:.3f} | {times['solve']:.3f} | "
                         f"{ratio:.2f} | {'met' if ratio <= 2 else 'NOT met'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="M=100, one round")
    args = parser.parse_args()
    print("\n".join(run(args.rounds, quick=args.quick)))


if __name__ == "__main__":
    main()
