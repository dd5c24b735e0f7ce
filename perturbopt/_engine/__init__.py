"""The perturbation engine: solves every row of a call (each perturbed copy of each
instance) wherever it runs fastest, with results that do not depend on where.

One call, top to bottom (each module imports only those below it)::

    engine.solve(spec, source, hints, run)          engine.py
      |  instance_here(): the calling thread's copy  instances.py (SolverSpec, cache)
      |  choose_placement(n_jobs, backend)           placement.py (allowed modes)
      |  policy: probe rows, pick a mode, task size  policy.py -> tuning.py (Tuner)
      v
    Job(spec, source, hints, timeout, kept noise)    job.py
      |  cut(source, rows) -> tasks on noise blocks  tasks.py
      v
    MODES[name].run(job, tasks, consume)             modes.py
      |-- "inline"     the calling thread
      |-- "threads"    + helper threads              threads.py  (ThreadWorkers)
      |-- "processes"  + worker processes            processes.py -> worker.py
      |-- "joblib"     Dask, Ray, ... via joblib     joblib_backend.py
      v                 (results in task order:      ordered.py)
    run_task(solver, source, start, stop)            tasks.py
      |  source.inputs(rows): draw noise, perturb    sources.py -> noise_plan.py
      |  solve_stack(solver, inputs): check, compact stack.py
      v
    TaskOutput | RowFailure -> Collector             collector.py, failures.py
      v
    Solved(solutions, values, kept noise)  or  EngineFailure(rows)

The noise of a call is a pure function of its key and of the problem's shape, cut into
blocks with streams of their own (noise_plan.py), so any worker draws any rows and the
same seed gives bit-identical results whatever the mode, the number of workers or the
task sizes. ``perturbopt._forks`` keeps all of this usable after ``os.fork()``.
"""

from __future__ import annotations

from .engine import RunOptions, Solved, shutdown_pools, solve
from .failures import EngineFailure, RowFailure
from .instances import SolverSpec
from .noise_plan import NoiseKey, NoisePlan, segments
from .sources import PerturbedRows, PlainRows, RowSource

__all__ = [
    "EngineFailure",
    "NoiseKey",
    "NoisePlan",
    "PerturbedRows",
    "PlainRows",
    "RowFailure",
    "RowSource",
    "RunOptions",
    "Solved",
    "SolverSpec",
    "segments",
    "shutdown_pools",
    "solve",
]
