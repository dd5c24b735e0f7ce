"""The perturbation engine: solve ``N = M x B`` perturbed problems, in-process or on
joblib workers, with results that do not depend on how the work was split.

Design:

* All noise is drawn before this module is called; a :class:`PerturbationPlan`
  turns noise rows into perturbed inputs on demand, block by block, with the same
  element-wise arithmetic whoever asks, so every row's input is bit-identical.
* Work goes to workers in chunks of consecutive rows, sized from the measured time
  per solve, when the workers would save more than a parallel call costs; otherwise
  it stays in the calling process.
* Each worker process (or thread) builds its solver once from a pickled spec and
  keeps it in a pool keyed by the spec's digest, across calls.
* Solutions travel in the smallest integer type that holds them exactly (0/1 and
  ranks as ``int8``), float64 otherwise.
* A solver that raises or breaks the contract is reported by row; the error with the
  lowest row wins, so the message is the same for every ``n_jobs``.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np

try:  # joblib >= 1.6 depends on cloudpickle; older releases vendor it
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle  # type: ignore[no-redef]

from ._errors import SolverContractError, SolverError
from ._pools import WorkerDiedError, call_overhead_seconds, run_tasks
from ._solver import solver_name

__all__ = ["PerturbationPlan", "SolverHandle", "solve_plan", "solve_unperturbed"]

BLOCK_ELEMENTS = 1 << 17
"""Perturbed inputs are built and solved in blocks of about this many numbers."""

TARGET_TASK_SECONDS = 0.05
"""Aim for worker tasks of about this duration: long enough to hide dispatch costs."""

TRANSFER_SECONDS_PER_BYTE = 4e-9
"""What shipping one byte of perturbed input to a worker costs the calling process
(building it, pickling, copying through the pipe), which on two cores competes with the
workers; measured on the benchmark machine (benchmarks/RESULTS.md, efficiency)."""

DISPATCH_MARGIN = 2.0
"""Dispatch to workers only when that is expected to save this many times what one
parallel call costs (see :func:`perturbopt._pools.call_overhead_seconds`)."""

TASKS_PER_WORKER = 4
"""Split work into at least this many tasks per worker, for load balance."""

_INTEGER_TYPES = (np.int8, np.int16, np.int32)


@dataclass
class PerturbationPlan:
    """Noise for one call and the perturbed inputs it defines.

    Row ``r = m * B + b`` of the flattened problem is sample ``m`` of batch item ``b``:
    ``theta[b] + eps * z[m, b]`` (additive) or ``theta[b] * exp(eps * z[m, b] - shift)``
    (multiplicative, ``shift = log E[exp(eps Z)]``).

    After :meth:`release_noise`, the noise is no longer held: :meth:`draws` redraws it,
    bit for bit, from the generator state saved before the first draw.
    """

    theta: np.ndarray  # (B, *s) float64
    noise: np.ndarray | None  # (M, B, *s) float64, or None once released
    epsilon: float
    multiplicative_shift: float | None = None  # None for additive noise
    redraw: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    num_samples: int = field(init=False)

    def __post_init__(self) -> None:
        assert self.noise is not None
        self.num_samples = self.noise.shape[0]

    def draws(self) -> np.ndarray:
        """The noise ``(M, B, *s)``: held, or redrawn if it was released."""
        if self.noise is not None:
            return self.noise
        assert self.redraw is not None
        return self.redraw()

    def release_noise(self, redraw: Callable[[], np.ndarray]) -> None:
        """Stop holding the noise; ``redraw()`` must return the same array again."""
        self.noise, self.redraw = None, redraw

    @property
    def batch_size(self) -> int:
        return self.theta.shape[0]

    @property
    def num_rows(self) -> int:
        return self.num_samples * self.batch_size

    @property
    def instance_shape(self) -> tuple[int, ...]:
        return self.theta.shape[1:]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Perturbed inputs of rows ``start:stop``, shape ``(stop - start, *s)``."""
        batch = self.batch_size
        z = self.draws().reshape((-1,) + self.instance_shape)[start:stop]
        if start % batch == 0 and (stop - start) % batch == 0:
            theta = np.broadcast_to(self.theta, ((stop - start) // batch,) + self.theta.shape)
            theta = theta.reshape(z.shape)
        else:
            theta = self.theta[np.arange(start, stop) % batch]
        out = np.multiply(z, self.epsilon)
        if self.multiplicative_shift is None:
            out += theta
        else:
            out -= self.multiplicative_shift
            np.exp(out, out=out)
            out *= theta
        return out

    def locate(self, row: int) -> tuple[int, int]:
        """``(sample, batch_item)`` of a flattened row."""
        return divmod(row, self.batch_size)

    def block_rows(self) -> int:
        """Rows per in-process block: about BLOCK_ELEMENTS numbers, a multiple of B if it can."""
        per_row = max(1, math.prod(self.instance_shape))
        rows = max(1, BLOCK_ELEMENTS // per_row)
        if rows >= self.batch_size:
            rows -= rows % self.batch_size
        return rows


@dataclass
class SolverHandle:
    """A solver as the engine sees it: the local instance and how workers rebuild it.

    Args:
        solver: the instance used in the calling process.
        recipe: what workers unpickle and call to get their own instance: a
            ``(factory, options)`` pair, or ``None`` to send a copy of ``solver``.
    """

    solver: Any
    recipe: tuple[Any, dict[str, Any]] | None = None
    seconds_per_row: float | None = None
    _payload: bytes | None = field(default=None, repr=False)
    _key: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return solver_name(self.solver)

    def payload(self) -> tuple[str, bytes]:
        """``(digest, pickled spec)``, computed once.

        The spec is the ``(factory, options)`` recipe when it pickles, else the
        instance itself (a solver holding unpicklable state, such as a compiled
        model, can define ``__reduce__`` to rebuild itself).
        """
        if self._payload is None:
            specs = [("instance", self.solver)]
            if self.recipe is not None:
                specs.insert(0, ("factory", self.recipe))
            errors = []
            for spec in specs:
                try:
                    self._payload = cloudpickle.dumps(spec)
                    break
                except Exception as error:  # noqa: BLE001 - try the next spec
                    errors.append(error)
            else:
                last = errors[-1]
                raise TypeError(
                    f"solver {self.name!r} cannot be sent to parallel workers: it does not "
                    f"pickle ({type(last).__name__}: {last}). Give it __reduce__ (rebuild "
                    "it from its options), or use n_jobs=1"
                ) from last
            assert self._payload is not None
            self._key = hashlib.blake2b(self._payload, digest_size=16).hexdigest()
        assert self._key is not None
        return self._key, self._payload

    def record(self, seconds: float, rows: int) -> None:
        """Fold a measured time into the estimate of seconds per solved row."""
        if rows <= 0:
            return
        measured = seconds / rows
        previous = self.seconds_per_row
        self.seconds_per_row = measured if previous is None else 0.5 * (previous + measured)


# -- results of a piece of work --------------------------------------------------


@dataclass
class _Failure:
    row: int  # relative to the piece of work that failed
    message: str
    error: BaseException | None
    contract: bool


def _portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(error).__name__}: {error}")


def compact(y: np.ndarray) -> np.ndarray:
    """``y`` in the smallest of int8/int16/int32 that holds it exactly, else float64."""
    if y.dtype == np.bool_:
        return y.view(np.int8) if y.flags.c_contiguous else y.astype(np.int8)
    if y.size == 0:
        return y.astype(np.int8)
    low, high = y.min(), y.max()
    if y.dtype.kind == "f":
        if not (np.all(np.isfinite(y)) and np.array_equal(y, np.rint(y))):
            return np.asarray(y, dtype=np.float64)
    for dtype in _INTEGER_TYPES:
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return y if y.dtype == dtype else y.astype(dtype)
    return np.asarray(y, dtype=np.float64)


def _check_output(y: Any, expected: tuple[int, ...]) -> tuple[np.ndarray | None, str | None, int]:
    """``(array, None, 0)`` for a valid output, else ``(None, problem, row)`` where
    ``row`` is the first offending row when the output is a stack."""
    try:
        y = np.asarray(y)
    except Exception as error:  # noqa: BLE001
        return None, f"returned something that is not an array ({error})", 0
    if y.dtype.kind not in "biuf":
        return None, f"returned an array of dtype {y.dtype}; solutions must be real numbers", 0
    if y.shape != expected:
        return None, f"returned shape {y.shape}; expected {expected}, the shape of theta", 0
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(y))[0])
        return None, f"returned a non-finite value ({y[bad]}) at index {list(bad)}", bad[0] if bad else 0
    return y, None, 0


def _solve_rows(solver: Any, thetas: np.ndarray, hints: np.ndarray | None
                ) -> np.ndarray | _Failure:
    """Solve a stack of problems with one solver instance, checking every output."""
    batch_solve = getattr(solver, "solve_batch", None)
    if batch_solve is None:
        return _solve_one_by_one(solver, thetas, hints)
    try:
        out = batch_solve(thetas, hints=hints) if hints is not None else batch_solve(thetas)
    except Exception:  # noqa: BLE001 - locate the row that fails
        if callable(getattr(solver, "solve", None)):
            return _solve_one_by_one(solver, thetas, hints)
        return _solve_batch_failure(batch_solve, thetas, hints)
    checked, problem, row = _check_output(out, thetas.shape)
    if problem is not None:
        if np.shape(out) != thetas.shape:
            problem = f"solve_batch {problem} (a stack of {thetas.shape[0]} problems)"
        else:
            problem = problem.replace(f"index [{row}, ", "index [", 1)
        return _Failure(row, problem, None, True)
    assert checked is not None
    return compact(checked)


def _solve_one_by_one(solver: Any, thetas: np.ndarray, hints: np.ndarray | None
                      ) -> np.ndarray | _Failure:
    solutions = []
    for row in range(thetas.shape[0]):
        try:
            if hints is None:
                y = solver.solve(thetas[row])
            else:
                y = solver.solve(thetas[row], hint=hints[row])
        except Exception as error:  # noqa: BLE001
            return _Failure(row, f"{type(error).__name__}: {error}", _portable(error), False)
        checked, problem, _ = _check_output(y, thetas.shape[1:])
        if checked is None:
            return _Failure(row, problem or "", None, True)
        solutions.append(checked)
    return compact(np.stack(solutions))


def _solve_batch_failure(batch_solve: Any, thetas: np.ndarray, hints: np.ndarray | None
                         ) -> _Failure:
    """Locate the failing row of a solver that only has solve_batch, by bisection."""
    low, high = 0, thetas.shape[0]
    while high - low > 1:
        middle = (low + high) // 2
        piece = _solve_rows_batch_only(batch_solve, thetas[low:middle],
                                       None if hints is None else hints[low:middle])
        if isinstance(piece, _Failure):
            high = middle
        else:
            low = middle
    failure = _solve_rows_batch_only(batch_solve, thetas[low:high],
                                     None if hints is None else hints[low:high])
    if isinstance(failure, _Failure):
        failure.row += low
        return failure
    return _Failure(low, "solve_batch failed on the stack but not on any row alone", None, True)


def _solve_rows_batch_only(batch_solve: Any, thetas: np.ndarray, hints: np.ndarray | None
                           ) -> np.ndarray | _Failure:
    try:
        out = batch_solve(thetas, hints=hints) if hints is not None else batch_solve(thetas)
    except Exception as error:  # noqa: BLE001
        return _Failure(0, f"{type(error).__name__}: {error}", _portable(error), False)
    checked, problem, row = _check_output(out, thetas.shape)
    if problem is not None:
        return _Failure(row, problem, None, True)
    assert checked is not None
    return compact(checked)


# -- per-process pool of solver instances ----------------------------------------

_POOL_LIMIT = 16
_pool: OrderedDict[str, list[Any]] = OrderedDict()
_pool_lock = threading.Lock()


def _acquire(key: str, payload: bytes) -> Any:
    with _pool_lock:
        free = _pool.get(key)
        if free:
            _pool.move_to_end(key)
            return free.pop()
    kind, spec = pickle.loads(payload)
    if kind == "factory":
        factory, options = spec
        return factory(**options)
    return spec


def _release(key: str, solver: Any) -> None:
    with _pool_lock:
        _pool.setdefault(key, []).append(solver)
        _pool.move_to_end(key)
        while len(_pool) > _POOL_LIMIT:
            _pool.popitem(last=False)


def _worker_task(key: str, payload: bytes, thetas: np.ndarray, hints: np.ndarray | None
                 ) -> tuple[tuple[np.ndarray, np.ndarray] | _Failure, float]:
    """Run in a worker: solve a chunk with this worker's cached solver instance.

    Returns the solutions with their values ``<y_r, theta_r>`` (or the failure), and the
    seconds spent solving, not counting the first build of the solver in this worker,
    so that the time estimate is per solve.
    """
    try:
        solver = _acquire(key, payload)
    except Exception as error:  # noqa: BLE001
        return _Failure(0, f"the worker could not build the solver: {type(error).__name__}: "
                           f"{error}", _portable(error), False), 0.0
    start = time.perf_counter()
    result = _solve_rows(solver, thetas, hints)
    if not (isinstance(result, _Failure) and not result.contract):
        _release(key, solver)  # an instance that raised may be broken: the next task builds anew
    seconds = time.perf_counter() - start
    if isinstance(result, _Failure):
        return result, seconds
    return (result, row_values(thetas, result)), seconds


# -- dispatch ---------------------------------------------------------------------


def _raise_failure(handle: SolverHandle, plan: PerturbationPlan, batched: bool,
                   failure: _Failure, offset: int) -> None:
    sample, item = plan.locate(offset + failure.row)
    where = f"sample {sample}" + (f" of batch item {item}" if batched else "")
    if failure.contract:
        message = f"solver {handle.name!r} broke the solver contract on {where}: {failure.message}"
        raise SolverContractError(message, sample=sample, batch_item=item if batched else None)
    message = f"solver {handle.name!r} failed on {where}: {failure.message}"
    raise SolverError(message, sample=sample,
                      batch_item=item if batched else None) from failure.error


def _hints_for(hints: np.ndarray | None, plan: PerturbationPlan, start: int, stop: int
               ) -> np.ndarray | None:
    if hints is None:
        return None
    return hints[np.arange(start, stop) % plan.batch_size]


def row_values(rows: np.ndarray, solutions: np.ndarray) -> np.ndarray:
    """``<y_r, theta_r>`` for each row of a stack, computed row by row (so a row's value
    does not depend on the rows around it)."""
    flat_rows = rows.reshape(rows.shape[0], -1)
    flat_solutions = solutions.reshape(rows.shape[0], -1).astype(np.float64, copy=False)
    return np.einsum("ij,ij->i", flat_rows, flat_solutions)


def _solve_in_process(handle: SolverHandle, plan: PerturbationPlan, hints: np.ndarray | None,
                      start: int, stop: int, batched: bool
                      ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Solve rows ``start:stop`` here, block by block; return solutions and values."""
    pieces, values = [], []
    step = plan.block_rows()
    for block_start in range(start, stop, step):
        block_stop = min(stop, block_start + step)
        rows = plan.rows(block_start, block_stop)
        result = _solve_rows(handle.solver, rows, _hints_for(hints, plan, block_start, block_stop))
        if isinstance(result, _Failure):
            _raise_failure(handle, plan, batched, result, block_start)
        assert isinstance(result, np.ndarray)
        pieces.append(result)
        values.append(row_values(rows, result))
    return pieces, values


def _worth_dispatching(seconds_per_row: float, rows: int, row_bytes: int, workers: int) -> bool:
    """Whether ``workers`` would save, on ``rows`` solves of ``seconds_per_row`` each,
    more than shipping their inputs costs plus ``DISPATCH_MARGIN`` parallel calls."""
    saved = seconds_per_row * rows * (1.0 - 1.0 / workers)
    shipping = rows * row_bytes * TRANSFER_SECONDS_PER_BYTE
    return saved > shipping + DISPATCH_MARGIN * call_overhead_seconds()


def _chunk_rows(seconds_per_row: float, rows: int, workers: int) -> int:
    by_time = math.ceil(TARGET_TASK_SECONDS / max(seconds_per_row, 1e-9))
    by_balance = math.ceil(rows / (workers * TASKS_PER_WORKER))
    return max(1, min(by_time, by_balance))


def solve_plan(handle: SolverHandle, plan: PerturbationPlan, *, n_jobs: int | None,
               hints: np.ndarray | None, batched: bool) -> tuple[np.ndarray, np.ndarray]:
    """Solve every perturbed problem of ``plan``.

    Returns:
        The solutions ``(M, B, *s)`` in their compact type, and the values
        ``<y_l, theta_l>`` ``(M, B)``.

    Raises:
        SolverError: a solver raised; names the sample and batch item.
        SolverContractError: a solver returned a wrong shape or a non-finite value.
    """
    total = plan.num_rows
    workers = joblib.effective_n_jobs(n_jobs)
    pieces: list[np.ndarray] = []
    values: list[np.ndarray] = []
    done = 0
    if workers > 1 and handle.seconds_per_row is None:
        # Probe: time a first solve here (it also checks the solver's output early).
        probe = 1 if getattr(handle.solver, "solve_batch", None) is None else min(total, 64)
        started = time.perf_counter()
        pieces, values = _solve_in_process(handle, plan, hints, 0, probe, batched)
        handle.record(time.perf_counter() - started, probe)
        done = probe
    remaining = total - done
    if remaining and (workers <= 1 or
                      not _worth_dispatching(handle.seconds_per_row or 0.0, remaining,
                                             8 * math.prod(plan.instance_shape), workers)):
        started = time.perf_counter()
        more_pieces, more_values = _solve_in_process(handle, plan, hints, done, total, batched)
        if workers > 1:
            handle.record(time.perf_counter() - started, remaining)
    elif remaining:
        more_pieces, more_values = _solve_on_workers(handle, plan, hints, done, total, workers,
                                                     n_jobs, batched)
    else:
        more_pieces, more_values = [], []
    pieces += more_pieces
    values += more_values
    solutions = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    shape = (plan.num_samples, plan.batch_size)
    return solutions.reshape(shape + plan.instance_shape), np.concatenate(values).reshape(shape)


def _solve_on_workers(handle: SolverHandle, plan: PerturbationPlan, hints: np.ndarray | None,
                      start: int, stop: int, workers: int, n_jobs: int | None,
                      batched: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    key, payload = handle.payload()
    assert handle.seconds_per_row is not None
    size = _chunk_rows(handle.seconds_per_row, stop - start, workers)
    bounds = [(i, min(stop, i + size)) for i in range(start, stop, size)]
    tasks = [(key, payload, plan.rows(i, j), _hints_for(hints, plan, i, j)) for i, j in bounds]
    try:
        outputs = run_tasks(_worker_task, tasks, n_jobs)
    except WorkerDiedError as error:
        raise SolverError(
            f"a worker process died while solver {handle.name!r} solved samples "
            f"{plan.locate(start)[0]} to {plan.locate(stop - 1)[0]} (a crash in the solver's "
            f"native code?): {error}. The pool was restarted; with n_jobs=1 the crash would "
            "take this process down, so look for it in a small case first"
        ) from error
    busy = 0.0
    pieces, values = [], []
    for (i, _), (result, seconds) in zip(bounds, outputs):
        if isinstance(result, _Failure):
            _raise_failure(handle, plan, batched, result, i)
        solutions, row_value = result
        pieces.append(solutions)
        values.append(row_value)
        busy += seconds
    handle.record(busy, stop - start)
    return pieces, values


def solve_unperturbed(handle: SolverHandle, theta: np.ndarray, batched: bool) -> np.ndarray:
    """``y*(theta)`` for each batch item, in the calling process, as float64 ``(B, *s)``."""
    result = _solve_rows(handle.solver, theta, None)
    if isinstance(result, _Failure):
        item = result.row
        where = "the unperturbed theta" + (f" of batch item {item}" if batched else "")
        error_type = SolverContractError if result.contract else SolverError
        error = error_type(f"solver {handle.name!r} failed on {where}: {result.message}",
                           sample=None, batch_item=item if batched else None)
        raise error from result.error
    return np.asarray(result, dtype=np.float64)
