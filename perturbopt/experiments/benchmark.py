"""The field's benchmark: methods x problems x seeds, normalised regret and training time.

``run_benchmark`` trains PyEPO's linear model (one ``torch.nn.Linear`` from the
features to the costs) with each method on the instances of one of
[`perturbopt.problems`][perturbopt.problems], for each seed, and measures the normalised test regret
(PyEPO's convention)::

    regret = sum_i (c_i^T w*(c_hat_i) - z*(c_i)) / sum_i |z*(c_i)|      (sense "min";
             z*(c_i) - c_i^T w*(c_hat_i) in the numerator for sense "max")

and the training time (the epochs alone, evaluation excluded). A seed fixes everything:
the data (the generator's seed), the model's initial weights (the same for every method),
the order of the minibatches and the methods' own noise, so a run is reproduced by its
seed. ``perturbopt benchmark`` is the command-line face of this module.

Example:
    >>> from perturbopt.experiments.benchmark import BenchmarkConfig, run_benchmark
    >>> config = BenchmarkConfig(problem="shortest_path", methods=("2s", "fy"), seeds=(0,),
    ...                          train=64, test=32, epochs=1, grid=3)
    >>> result = run_benchmark(config, progress=False)
    >>> [(run.method, run.seed) for run in result.runs]
    [('2s', 0), ('fy', 0)]
"""

from __future__ import annotations

import csv
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .. import problems
from ..metrics import regret
from ._methods import METHODS, Batch, Context, Method
from ._training import fit
from ._util import progress_bar

__all__ = [
    "METHODS",
    "PROBLEMS",
    "BenchmarkConfig",
    "BenchmarkResult",
    "Run",
    "format_benchmark_table",
    "plot_benchmark",
    "run_benchmark",
    "write_benchmark_results",
]

PROBLEMS = ("shortest_path", "knapsack", "tsp")
"""The problems of [`perturbopt.problems`][perturbopt.problems] the benchmark runs on."""


@dataclass(frozen=True)
class BenchmarkConfig:
    """One benchmark: a problem, its data, the methods, the seeds and the training.

    The defaults are PyEPO's notebook-03 setting: 1000 training and 1000 test instances
    of 5 features, degree 4, noise half-width 0.5, a linear model, Adam with step 1e-2,
    batch 32, 20 epochs; perturbed methods with ``sigma = 1`` and 3 samples.

    Attributes:
        problem: ``"shortest_path"``, ``"knapsack"`` or ``"tsp"``.
        methods: names in `METHODS`.
        seeds: one run of every method per seed.
        train, test: the number of training and test instances.
        num_features, degree, noise_width: the generator's ``p``, ``deg`` and noise.
        grid: the shortest path's grid is ``grid x grid``.
        num_items, dim, capacity: the knapsack's (``capacity=None``: PyEPO's README rule).
        num_nodes: the TSP's.
        epochs, batch_size, learning_rate: the training.
        epsilon, num_samples: the perturbed methods' noise scale and samples.
        lambda_: blackbox differentiation's interpolation step.
        eval_every: also measure the test regret every that many epochs (0: only
            before and after training), for the curve of regret against time.
        n_jobs: joblib workers for the perturbed methods' solves.
    """

    problem: str = "shortest_path"
    methods: tuple[str, ...] = ("2s", "spo+", "fy", "dpo", "dbb")
    seeds: tuple[int, ...] = (0, 1, 2)
    train: int = 1000
    test: int = 1000
    num_features: int = 5
    degree: int = 4
    noise_width: float = 0.5
    grid: int = 5
    num_items: int = 32
    dim: int = 2
    capacity: float | None = None
    num_nodes: int = 20
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-2
    epsilon: float = 1.0
    num_samples: int = 3
    lambda_: float = 10.0
    eval_every: int = 0
    n_jobs: int | None = None

    def __post_init__(self) -> None:
        if self.problem not in PROBLEMS:
            raise ValueError(f"problem must be one of {', '.join(PROBLEMS)}, got {self.problem!r}")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(
                f"methods must be names among {', '.join(METHODS)}; unknown: "
                f"{', '.join(unknown) or '(none given)'}"
            )
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods lists a method twice: {', '.join(self.methods)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds}")
        for name in ("train", "test", "num_features", "epochs", "batch_size", "num_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate", "epsilon", "lambda_"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")
        self.generate(self.seeds[0], num_data=1)  # the generator checks its arguments

    def generate(self, seed: int, *, num_data: int | None = None) -> problems.ProblemData:
        """The ``train + test`` instances (or ``num_data``) of seed ``seed``."""
        n = self.train + self.test if num_data is None else num_data
        p = self.num_features
        common: dict[str, Any] = {
            "degree": self.degree,
            "noise_width": self.noise_width,
            "seed": seed,
        }
        if self.problem == "shortest_path":
            return problems.shortest_path(n, p, grid=(self.grid, self.grid), **common)
        if self.problem == "knapsack":
            return problems.knapsack(
                n, p, self.num_items, self.dim, capacity=self.capacity, **common
            )
        return problems.tsp(n, p, self.num_nodes, **common)


@dataclass(frozen=True)
class Run:
    """One method trained with one seed.

    Attributes:
        method, seed: which run.
        regret: the normalised test regret after training.
        initial_regret: the same with the initial weights.
        train_seconds: the wall time of the epochs (evaluation excluded).
        steps: the optimiser steps taken.
        curve: ``(training seconds, regret)`` at each evaluation, from ``(0, initial)``.
    """

    method: str
    seed: int
    regret: float
    initial_regret: float
    train_seconds: float
    steps: int
    curve: tuple[tuple[float, float], ...] = field(default=())

    @property
    def ms_per_step(self) -> float:
        """Milliseconds per optimiser step."""
        return 1e3 * self.train_seconds / max(self.steps, 1)


@dataclass(frozen=True)
class BenchmarkResult:
    """What `run_benchmark` measured: the config, one `Run` per method and
    seed, and the whole benchmark's wall time."""

    config: BenchmarkConfig
    runs: tuple[Run, ...]
    seconds: float

    def summary(self) -> dict[str, dict[str, float]]:
        """Per method: mean and standard deviation (over seeds) of the regret and the
        training time, and the mean milliseconds per step."""
        table: dict[str, dict[str, float]] = {}
        for method in self.config.methods:
            runs = [r for r in self.runs if r.method == method]
            if not runs:
                continue
            regrets = np.array([r.regret for r in runs])
            seconds = np.array([r.train_seconds for r in runs])
            table[method] = {
                "regret_mean": float(regrets.mean()),
                "regret_std": float(regrets.std(ddof=1)) if len(runs) > 1 else 0.0,
                "train_seconds_mean": float(seconds.mean()),
                "train_seconds_std": float(seconds.std(ddof=1)) if len(runs) > 1 else 0.0,
                "ms_per_step": float(np.mean([r.ms_per_step for r in runs])),
                "runs": len(runs),
            }
        return table


def _regret_function(solver: Any) -> Any:
    """PyEPO's normalised regret ([`perturbopt.metrics.regret`][perturbopt.metrics.regret])
    of predictions, given the true costs and optimal values."""
    return lambda pred, c, z: float(regret(solver, pred, c, true_obj=z))


def run_benchmark(config: BenchmarkConfig, *, progress: bool = True) -> BenchmarkResult:
    """Train every method of ``config`` with every seed and measure its regret and time."""
    import torch

    steps_per_epoch = -(-config.train // config.batch_size)
    bar = progress_bar(
        len(config.seeds) * len(config.methods) * config.epochs * steps_per_epoch,
        f"{config.problem}: {len(config.methods)} methods x {len(config.seeds)} seeds",
        enabled=progress,
    )
    _warm_up_torch()
    start = time.perf_counter()
    runs = []
    for seed in config.seeds:
        data = config.generate(seed)
        train, test = data.split(config.train)
        solver = data.get_solver()
        w_train, z_train = train.optimal(solver=solver)
        _, z_test = test.optimal(solver=solver)
        regret = _regret_function(solver)
        tensors = {
            "x": torch.as_tensor(train.x, dtype=torch.float64),
            "c": torch.as_tensor(train.c, dtype=torch.float64),
            "w": torch.as_tensor(w_train, dtype=torch.float64),
            "z": torch.as_tensor(z_train, dtype=torch.float64)[:, None],
        }
        context = Context(
            solver_name=data.solver,
            solver_options=data.solver_options,
            solver=solver,
            sense=data.sense,
            epsilon=config.epsilon,
            num_samples=config.num_samples,
            lambda_=config.lambda_,
            seed=seed,
            n_jobs=config.n_jobs,
            pool=w_train,
        )
        for name in config.methods:
            bar.set_postfix_str(f"seed {seed}, {name}")
            runs.append(
                _train(METHODS[name], context, config, seed, tensors, test, z_test, regret, bar)
            )
    bar.close()
    return BenchmarkResult(config, tuple(runs), time.perf_counter() - start)


def _warm_up_torch() -> None:
    """One Adam step on a throw-away model: torch's first step pays one-off costs (1.6 s
    measured) that would otherwise count in the first method's training time."""
    import torch

    with torch.random.fork_rng(devices=[]):
        model = torch.nn.Linear(2, 2).double()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(1, 2, dtype=torch.float64)).sum().backward()
    optimiser.step()


def _train(
    method: Method,
    context: Context,
    config: BenchmarkConfig,
    seed: int,
    tensors: dict[str, Any],
    test: problems.ProblemData,
    z_test: np.ndarray,
    regret: Any,
    bar: Any,
) -> Run:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the same initial weights for every method of a seed
        model = torch.nn.Linear(test.num_features, test.num_costs).double()
    loss = method.build(context)
    test_x = torch.as_tensor(test.x, dtype=torch.float64)

    def evaluate() -> float:
        with torch.no_grad():
            return regret(model(test_x).numpy(), test.c, z_test)

    initial = evaluate()
    curve = [(0.0, initial)]
    paused = 0.0  # seconds spent evaluating inside the epochs
    started = time.perf_counter()

    def after_epoch(epoch: int) -> str:
        nonlocal paused
        if config.eval_every and (epoch + 1) % config.eval_every == 0 and epoch + 1 < config.epochs:
            pause = time.perf_counter()
            curve.append((pause - started - paused, evaluate()))
            paused += time.perf_counter() - pause
            return f"regret {curve[-1][1]:.2%}"
        return f"epoch {epoch + 1}"

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        rows = torch.as_tensor(index)
        batch = Batch(*(tensors[k][rows] for k in ("x", "c", "w", "z")))
        return loss(model(batch.x), batch)

    fit(
        model.parameters(),
        batch_loss,
        num_examples=len(tensors["x"]),
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        seed=seed,
        after_epoch=after_epoch,
        bar=bar,
    )
    seconds = time.perf_counter() - started - paused
    final = evaluate()
    curve.append((seconds, final))
    steps = config.epochs * -(-len(tensors["x"]) // config.batch_size)
    return Run(method.name, seed, final, initial, seconds, steps, tuple(curve))


def format_benchmark_table(result: BenchmarkResult) -> str:
    """A markdown table: per method, the regret (mean ± standard deviation over the
    seeds, in %), the training time and the milliseconds per step."""
    rows = [
        "| method | normalised regret (%) | training (s) | ms per step | seeds |",
        "|---|---|---|---|---|",
    ]
    for method, s in result.summary().items():
        rows.append(
            f"| {method} | {100 * s['regret_mean']:.2f} ± {100 * s['regret_std']:.2f} | "
            f"{s['train_seconds_mean']:.1f} ± {s['train_seconds_std']:.1f} | "
            f"{s['ms_per_step']:.2f} | {int(s['runs'])} |"
        )
    return "\n".join(rows)


def write_benchmark_results(result: BenchmarkResult, path: str | Path) -> tuple[Path, Path]:
    """Write ``path.json`` (the config, the machine, every run and the summary) and
    ``path.csv`` (one row per run); return both paths."""
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = base.with_suffix(".json"), base.with_suffix(".csv")
    document = {
        "config": asdict(result.config),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "seconds": result.seconds,
        "summary": result.summary(),
        "runs": [{**asdict(run), "ms_per_step": run.ms_per_step} for run in result.runs],
    }
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    columns = [f.name for f in fields(Run) if f.name != "curve"] + ["ms_per_step"]
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["problem", *columns])
        for run in result.runs:
            writer.writerow([result.config.problem, *(getattr(run, c) for c in columns)])
    return json_path, csv_path


def plot_benchmark(result: BenchmarkResult, path: str | Path) -> Path:
    """Draw the regret against the training time, one marker per method (the mean over
    seeds, bars of one standard deviation) and, with ``eval_every``, each run's curve
    from its first evaluation on; write it as a PNG."""
    from ._plotting import png_figure

    with png_figure(path, size=(8.0, 4.5)) as (_, axes):
        ax = axes[0, 0]
        for index, (method, s) in enumerate(result.summary().items()):
            colour = f"C{index % 10}"
            marker = "osD^v"[index // 10 % 5]  # 14 methods: the colours repeat after 10
            for run in (r for r in result.runs if r.method == method and len(r.curve) > 2):
                times, regrets = zip(*run.curve[1:], strict=True)  # from the first evaluation on
                ax.plot(times, 100 * np.array(regrets), color=colour, alpha=0.3, lw=1)
            ax.errorbar(
                s["train_seconds_mean"],
                100 * s["regret_mean"],
                xerr=s["train_seconds_std"],
                yerr=100 * s["regret_std"],
                fmt=marker,
                color=colour,
                capsize=3,
                label=method,
            )
        ax.set_xlabel("training time (s)")
        ax.set_ylabel("normalised test regret (%)")
        c = result.config
        ax.set_title(
            f"{c.problem}: deg {c.degree}, noise {c.noise_width:g}, {c.train}/{c.test}, "
            f"{c.epochs} epochs, {len(c.seeds)} seeds"
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return Path(path)


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"3"`` -> ``(0, 1, 2)``; ``"4,7"`` -> ``(4, 7)``.

    Raises:
        ValueError: anything else.
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        numbers: Sequence[int] = [int(p) for p in parts]
    except ValueError:
        raise ValueError(
            f"--seeds takes a count (3: seeds 0, 1, 2) or a list (4,7), got {text!r}"
        ) from None
    if len(numbers) == 1 and "," not in text:
        if numbers[0] < 1:
            raise ValueError(f"--seeds takes a count >= 1, got {text!r}")
        return tuple(range(numbers[0]))
    return tuple(numbers)
