"""Perturbed built-in solvers against their floor (drawing the noise) and against what a
user would write by hand.

B=256 instances of d=100, M=1000 perturbations: 25.6 million noisy entries per call.
Measured side by side, interleaved round after round (medians), after ``WARMUP``
untimed rounds:

* ``draw``: one single-threaded float64 numpy draw of the same noise
  (``standard_normal`` or ``gumbel`` of shape ``(M, B, d)``);
* ``n_jobs=1`` and ``n_jobs=2``: ``po.solve(theta)`` and its ``mean`` and ``value``;
* ``previous n_jobs=1``: the engine before per-block streams (perturbopt 0.1.0, the
  commit given by ``--previous``), run in a subprocess from that commit's sources;
* for argmax, the same perturbed argmax written in torch (``randn`` + ``argmax`` +
  ``one_hot`` + ``mean``, torch's default threads), float64 and float32.

Targets: n_jobs=2 <= 0.8 x draw; n_jobs=1 no slower than the previous engine;
perturbopt faster than both torch versions.

Run: python benchmarks/bench_builtins.py [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from _timing import interleaved, machine

import perturbopt

HERE = Path(__file__).resolve().parent
PREVIOUS = "82034e2"
SOLVERS = (("argmax", {}), ("topk", {"k": 10}), ("ranking", {}), ("sign", {}))
WARMUP = 6
"""Untimed rounds first: the steady state of a training loop, once each solver's calls
have been measured in every mode (perturbopt._engine.tuning) and settled where they are
fastest."""

PREVIOUS_RUNNER = """
import json, sys, time
import numpy as np
import perturbopt
batch, dim, samples, rounds = (int(a) for a in sys.argv[1:5])
theta = np.random.default_rng(0).normal(size=(batch, dim))
times = {}
for noise in ("gaussian", "gumbel"):
    for name, options in json.loads(sys.argv[5]):
        po = perturbopt.perturbed(name, solver_options=options, epsilon=0.5,
                                  num_samples=samples, noise=noise, seed=0, n_jobs=1)
        runs = []
        for _ in range(rounds + 1):
            start = time.perf_counter()
            result = po.solve(theta)
            result.mean, result.value
            runs.append(time.perf_counter() - start)
        times[f"{name} {noise}"] = sorted(runs[1:])[len(runs[1:]) // 2]
print(json.dumps(times))
"""


def previous_engine(batch: int, dim: int, samples: int, rounds: int) -> dict[str, float]:
    """Median times of the previous engine at n_jobs=1, from its own sources."""
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "previous.tar"
        subprocess.run(
            ["git", "archive", "-o", str(archive), PREVIOUS, "perturbopt"],
            cwd=HERE.parent,
            check=True,
        )
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        env = {**os.environ, "PYTHONPATH": folder, "PERTURBOPT_DISABLE_PLUGIN_AUTOLOAD": "1"}
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                PREVIOUS_RUNNER,
                str(batch),
                str(dim),
                str(samples),
                str(rounds),
                json.dumps(SOLVERS),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout)


def torch_candidates(samples: int, theta: np.ndarray) -> dict[str, object]:
    """The perturbed argmax as a user would write it in torch, float64 and float32."""
    try:
        import torch
    except ImportError:
        return {}

    def perturbed_argmax(dtype: object) -> object:
        t = torch.as_tensor(theta, dtype=dtype)  # type: ignore[arg-type]
        generator = torch.Generator().manual_seed(0)

        def run() -> object:
            z = torch.randn((samples,) + tuple(t.shape), generator=generator, dtype=dtype)  # type: ignore[arg-type]
            y = torch.nn.functional.one_hot((t + 0.5 * z).argmax(-1), t.shape[-1])
            return y.to(dtype).mean(0)  # type: ignore[arg-type]

        return run

    return {
        "torch float64": perturbed_argmax(torch.float64),
        "torch float32": perturbed_argmax(torch.float32),
    }


def run(
    rounds: int = 5, batch: int = 256, dim: int = 100, samples: int = 1000, quick: bool = False
) -> list[str]:
    """Markdown tables; ``quick`` uses M=100 and one round."""
    if quick:
        rounds, samples = 1, 100
    theta = np.random.default_rng(0).normal(size=(batch, dim))
    previous = previous_engine(batch, dim, samples, rounds)
    lines = [
        f"B={batch}, d={dim}, M={samples} on {machine()}",
        "",
        (
            "| solver | noise | draw (s) | n_jobs=1 (s) | n_jobs=2 (s) | n_jobs=2 / draw "
            "(target <= 0.8) | previous n_jobs=1 (s) | n_jobs=1 / previous |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    torch_rows = []
    for noise in ("gaussian", "gumbel"):
        rng = np.random.default_rng(1)
        draw = (
            (lambda rng=rng: rng.standard_normal((samples, batch, dim)))
            if noise == "gaussian"
            else (lambda rng=rng: rng.gumbel(size=(samples, batch, dim)))
        )
        for name, options in SOLVERS:
            objects = {
                n: perturbopt.perturbed(
                    name,
                    solver_options=options,
                    epsilon=0.5,
                    num_samples=samples,
                    noise=noise,
                    seed=0,
                    n_jobs=n,
                )
                for n in (1, 2)
            }

            def solve(n: int, objects: dict = objects) -> None:
                result = objects[n].solve(theta)
                result.mean, result.value  # noqa: B018 - the estimators, as users read them

            candidates: dict[str, object] = {
                "draw": draw,
                "n_jobs=1": lambda: solve(1),
                "n_jobs=2": lambda: solve(2),
            }
            if name == "argmax" and noise == "gaussian":
                candidates.update(torch_candidates(samples, theta))
            times = interleaved(candidates, rounds=rounds, warmup=WARMUP)  # type: ignore[arg-type]
            ratio = times["n_jobs=2"] / times["draw"]
            before = previous[f"{name} {noise}"]
            lines.append(
                f"| {name} | {noise} | {times['draw']:.3f} | {times['n_jobs=1']:.3f} | "
                f"{times['n_jobs=2']:.3f} | {ratio:.2f} "
                f"({'met' if ratio <= 0.8 else 'NOT met'}) | {before:.3f} | "
                f"{times['n_jobs=1'] / before:.2f} |"
            )
            for label in ("torch float64", "torch float32"):
                if label in times:
                    torch_rows.append(
                        f"| {label} | {times[label]:.3f} | {times[label] / times['n_jobs=2']:.2f} |"
                    )
    if torch_rows:
        lines += [
            "",
            (
                "Perturbed argmax (Gaussian) written by hand in torch, against "
                "perturbopt n_jobs=2 in the same rounds:"
            ),
            "",
            "| candidate | time (s) | torch / perturbopt (> 1: perturbopt faster) |",
            "|---|---|---|",
        ] + torch_rows
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="M=100, one round")
    args = parser.parse_args()
    print("\n".join(run(args.rounds, quick=args.quick)))


if __name__ == "__main__":
    main()
