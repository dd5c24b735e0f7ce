"""Monte-Carlo estimators of the perturbed optimizer (Berthet et al., 2020).

With ``theta_l = theta + eps Z_l`` (additive) and ``y_l = y*(theta_l)``, ``l = 1..M``:

* perturbed solution ``y_eps(theta) = E[y*(theta + eps Z)] ~ (1/M) sum_l y_l``;
* perturbed optimum ``F_eps(theta) = E[<y_l, theta_l>] ~ (1/M) sum_l <y_l, theta_l>``,
  whose gradient is ``y_eps(theta)``;
* Jacobian (Prop. 3.1) ``J = E[y*(theta + eps Z) grad nu(Z)^T] / eps``, and its
  vector products without forming ``J``:
  ``J^T g = (1 / (M eps)) sum_l (<y_l, g> - b_l) grad nu(Z_l)``.
  The baseline ``b_l`` keeps the estimate unbiased because ``E[grad nu(Z)] = 0`` and
  ``b_l`` does not depend on ``Z_l``.

Multiplicative noise ``theta_l = theta * exp(eps Z_l - log E[e^{eps Z}])`` is additive
noise on ``log |theta|``, so the Jacobian is divided element-wise by ``theta``.

The mean and the Jacobian hold for any function ``f`` of ``theta``, whatever the shape
``out`` of its output (``f_eps(theta) = E[f(theta + eps Z)]``, Jacobian
``(*out, *s)``); ``F_eps`` needs the output in ``theta``'s space, or the features
``g(y)`` of a generalized maximizer, which then replace ``y`` wherever ``y`` meets
``theta``.

Everything that needs the noise walks it block by block (`perturbopt._engine.noise_plan`): a
result that does not keep its noise redraws one block at a time and never holds more,
and partial sums are added in block order, so every estimate is bit-identical whatever
the number of threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._engine import NoisePlan, segments
from ._engine.threads import thread_workers
from ._types import Baseline
from ._validation import as_float_array, check_memory

__all__ = ["BASELINES", "PerturbedResult", "check_baseline"]

BASELINES: tuple[str, ...] = ("none", "loo", "control")

PARALLEL_BLOCKS = 4
"""Walk the noise on several threads only when it has at least this many blocks."""


def check_baseline(baseline: object) -> Baseline:
    """``baseline`` if it is one of `BASELINES`, else a ``ValueError`` saying which are."""
    if baseline not in BASELINES:
        raise ValueError(
            f"baseline must be one of {', '.join(map(repr, BASELINES))}, got "
            f"{baseline!r} ('loo', leave-one-out, is the default and needs no "
            "extra solve)"
        )
    return baseline  # type: ignore[return-value]


def add_rows(out: np.ndarray, rows: np.ndarray, start: int) -> None:
    """``out[r % B] += rows[r - start]`` for rows ``r = start, start + 1, ...``, where
    ``out`` is ``(B, ...)``; whole samples are summed first, in a fixed order."""
    batch = out.shape[0]
    for piece, items in segments(start, rows.shape[0], batch):
        if items is None:
            out += rows[piece].reshape((-1,) + out.shape).sum(axis=0)
        else:
            out[items] += rows[piece]


def add_outer(out: np.ndarray, start: int, left: np.ndarray, right: np.ndarray) -> None:
    """``out[r % B] += outer(left[r - start], right[r - start])`` for rows
    ``r = start, ...``, where ``out`` is ``(B, k, d)``; whole samples summed first."""
    batch = out.shape[0]
    for piece, items in segments(start, left.shape[0], batch):
        if items is None:
            out += np.einsum(
                "kbi,kbj->bij",
                left[piece].reshape(-1, batch, left.shape[1]),
                right[piece].reshape(-1, batch, right.shape[1]),
            )
        else:
            out[items] += np.einsum("ri,rj->rij", left[piece], right[piece])


@dataclass(eq=False)
class PerturbedResult:
    """Samples of one perturbed solve and the estimators built on them.

    Shapes below write ``s`` for one instance's shape, ``out`` for one solution's (``s``
    for a solver, any shape for a function) and ``b`` for the batch axes of
    ``theta`` (none for one instance, ``(B,)`` for a batch, ``(B1, B2)`` and so on).
    Internally the batch is flattened to ``B`` items and rows are ``r = m B + i``.

    Attributes:
        theta: the input as a batch, ``(B, *s)`` float64 (read-only; a copy of the
            caller's array, so changing that array later changes nothing here).
        batch_shape: the batch axes of the caller's ``theta`` (``()`` unbatched).
        plan: how the noise was drawn (its key, scale, type and blocks).
        solutions: the ``M B`` solutions, ``(M B, *out)``, in the smallest integer type
            that holds them exactly (``int8`` for 0/1 solutions, ``int64`` for integers
            beyond ``int32``), else float64.
        values: ``<y_r, theta_r>`` for every row (``<theta_r, g(y_r)> + h(y_r)`` for a
            generalized maximizer, NaN for outputs outside ``theta``'s space),
            ``(M B,)`` float64.
        sense: the solver's sense, ``"max"`` or ``"min"``.
        keep_noise: whether noise drawn for an estimator is kept for the next one.
        noise_cache: the noise of the drawn rows, when held.
        unperturbed: solves ``y*(theta)`` ``(B, *out)`` on first need (the control variate
            and `hard`): the engine's solve with this call's data bound to it.
        known_hard: ``y*(theta)`` when the call already solved it (warm starts).
        n_jobs: threads for the block walks (joblib's meaning).
        memory_limit: the most bytes `jacobian` may allocate (``None``: no limit).
        features: ``g`` of a generalized maximizer, mapping a stack of solutions
            ``(n, *out)`` to ``(n, *s)``; ``None`` for a plain solver or function.
        owner: names the solver or function in error messages.
    """

    theta: np.ndarray
    batch_shape: tuple[int, ...]
    plan: NoisePlan
    solutions: np.ndarray
    values: np.ndarray
    sense: str
    keep_noise: bool
    noise_cache: np.ndarray | None = field(default=None, repr=False)
    unperturbed: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    known_hard: np.ndarray | None = field(default=None, repr=False)
    n_jobs: int | None = None
    memory_limit: int | None = None
    features: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    owner: str = "the solver"
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- shapes ---------------------------------------------------------------------

    @property
    def batched(self) -> bool:
        """Whether ``theta`` came with batch axes."""
        return bool(self.batch_shape)

    @property
    def num_samples(self) -> int:
        """``M``, the number of perturbations."""
        return self.plan.num_samples

    @property
    def batch_size(self) -> int:
        """``B``, the number of instances (1 for an unbatched ``theta``)."""
        return int(self.theta.shape[0])

    @property
    def instance_shape(self) -> tuple[int, ...]:
        """``s``, the shape of one instance of ``theta``."""
        return tuple(self.theta.shape[1:])

    @property
    def out_shape(self) -> tuple[int, ...]:
        """``out``, the shape of one solution (``s`` for a solver's solutions)."""
        return tuple(self.solutions.shape[1:])

    @property
    def in_theta_space(self) -> bool:
        """Whether ``<y, theta>`` is defined: solutions of ``theta``'s shape, or the
        features ``g(y)`` of a generalized maximizer."""
        return self.features is not None or self.out_shape == self.instance_shape

    def _require_theta_space(self, what: str) -> None:
        if not self.in_theta_space:
            raise ValueError(
                f"{what} needs <y, theta>, but {self.owner} returns outputs of shape "
                f"{self.out_shape} for instances of shape {self.instance_shape}: use the "
                "mean and its Jacobian (result.mean, vjp, jacobian), or make the solver a "
                "generalized maximizer by giving it features(y), the g(y) of theta's "
                "shape in its objective <theta, g(y)> + h(y)"
            )

    @property
    def epsilon(self) -> float:
        """The noise scale."""
        return self.plan.epsilon

    @property
    def multiplicative(self) -> bool:
        """Whether the noise was multiplicative."""
        return self.plan.multiplicative

    def _out(self, value: np.ndarray) -> np.ndarray:
        """A ``(B, ...)`` array with the caller's batch axes."""
        return value.reshape(self.batch_shape + value.shape[1:])

    def _flat(self) -> np.ndarray:
        """The solutions as ``(M B, |out|)``."""
        return self.solutions.reshape(self.solutions.shape[0], -1)

    def _objective_vectors(self) -> np.ndarray:
        """What meets ``theta`` in the objective, ``(M B, |s|)``: the solutions, or
        their features ``g(y)`` for a generalized maximizer (computed once)."""
        if self.features is None:
            return self._flat()
        features = self.features
        return self._cached(  # type: ignore[no-any-return]
            "features", lambda: features(self.solutions).reshape(self.solutions.shape[0], -1)
        )

    @property
    def sample_features(self) -> np.ndarray:
        """``g(y_l)`` of a generalized maximizer, ``(M, *b, *s)`` float64 (the solutions
        themselves for a plain solver)."""
        self._require_theta_space("sample_features")
        shape = (self.num_samples,) + self.batch_shape + self.instance_shape
        return np.asarray(self._objective_vectors(), dtype=np.float64).reshape(shape)

    @property
    def samples(self) -> np.ndarray:
        """The ``M`` solutions ``y_l``, ``(M, *b, *out)``, compact type (read-only view)."""
        view = self.solutions.reshape((self.num_samples,) + self.batch_shape + self.out_shape)
        view.flags.writeable = False
        return view

    @property
    def sample_values(self) -> np.ndarray:
        """``<y_l, theta_l>``, ``(M, *b)``."""
        return self.values.reshape((self.num_samples,) + self.batch_shape)

    @property
    def noise(self) -> np.ndarray:
        """The draws ``Z_l``, ``(M, *b, *s)`` (drawn now unless they are held)."""
        drawn = self._drawn_noise()
        if self.plan.antithetic:
            drawn = np.concatenate([drawn, -drawn])
        return drawn.reshape((self.num_samples,) + self.batch_shape + self.instance_shape)

    def _drawn_noise(self) -> np.ndarray:
        if self.noise_cache is not None:
            return self.noise_cache
        drawn = np.empty((self.plan.drawn_rows,) + self.instance_shape, self.plan.np_dtype)

        def draw(block: int) -> None:
            start, stop = self.plan.block_bounds(block)
            drawn[start:stop] = self.plan.draw_block(block)

        self._walk(self.plan.blocks_per_half, draw, lambda _: None)
        if self.keep_noise:
            self.noise_cache = drawn
        return drawn

    def _noise_block(self, block: int) -> np.ndarray:
        """The noise of one block, from the held noise or drawn anew."""
        if self.noise_cache is None and self.keep_noise:
            self._drawn_noise()
        if self.noise_cache is None:
            return self.plan.draw_block(block)
        start, stop = self.plan.block_bounds(block)
        drawn = self.plan.drawn_rows
        if start >= drawn:
            return -self.noise_cache[start - drawn : stop - drawn]
        return self.noise_cache[start:stop]

    def _walk(self, count: int, task: Callable[[int], Any], consume: Callable[[Any], None]) -> None:
        """``consume(task(k))`` for ``k = 0 .. count - 1``, in order, on threads when
        there is enough work."""
        import joblib

        workers = joblib.effective_n_jobs(self.n_jobs) if count >= PARALLEL_BLOCKS else 1
        if workers <= 1:
            for index in range(count):
                consume(task(index))
            return
        thread_workers().run_ordered(
            count, task, lambda _, result: consume(result), helpers=workers - 1
        )

    def _cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # -- perturbed solution and optimum ------------------------------------------------

    @property
    def mean(self) -> np.ndarray:
        """``y_eps(theta)``, the mean of the ``M`` solutions, float64 ``(*b, *out)``."""
        return self._out(self._cached("mean", self._mean).reshape(self._out_rows()))

    def _out_rows(self) -> tuple[int, ...]:
        """``(B, *out)``."""
        return (self.batch_size,) + self.out_shape

    def _mean(self) -> np.ndarray:
        """The mean over samples, column chunk by column chunk (on threads when large):
        each column is summed in sample order whatever the chunks, so the result does
        not depend on the number of threads."""
        flat = self.solutions.reshape(self.num_samples, -1)
        out = np.empty(flat.shape[1])
        step = max(1, (1 << 20) // self.num_samples)

        def chunk(index: int) -> None:
            low = index * step
            np.mean(flat[:, low : low + step], axis=0, dtype=np.float64, out=out[low : low + step])

        self._walk(-(-flat.shape[1] // step), chunk, lambda _: None)
        return out

    def _group_sums(self, per_sample: np.ndarray) -> np.ndarray:
        """Sums over independent groups: antithetic pairs, else single samples.
        ``per_sample`` is ``(M, ...)``; returns ``(G, ...)``."""
        if not self.plan.antithetic:
            return per_sample
        half = self.num_samples // 2
        return per_sample[:half] + per_sample[half:]

    def _stderr_of(self, per_sample: np.ndarray) -> np.ndarray:
        """Monte-Carlo standard error of the mean over samples (``(M, ...)`` in)."""
        groups = self._group_sums(per_sample.astype(np.float64))
        count = groups.shape[0]
        if count < 2:
            return np.full(groups.shape[1:], np.nan)
        size = self.num_samples // count
        return groups.std(axis=0, ddof=1) / (size * np.sqrt(count))

    @property
    def stderr(self) -> np.ndarray:
        """Monte-Carlo standard error of `mean` (NaN when it cannot be estimated,
        ``M = 1``); computed over antithetic pair means when pairs are used."""

        def compute() -> np.ndarray:
            flat = self.solutions.reshape(self.num_samples, -1)
            out = np.empty(flat.shape[1])
            step = max(1, (1 << 20) // max(1, self.num_samples))
            for low in range(0, flat.shape[1], step):
                out[low : low + step] = self._stderr_of(flat[:, low : low + step])
            return out.reshape(self._out_rows())

        return self._out(self._cached("stderr", compute))

    @property
    def value(self) -> np.ndarray | float:
        """``F_eps(theta) = E[<y*(theta_l), theta_l>]``, one per batch item
        (``E[<theta_l, g(y_l)> + h(y_l)]`` for a generalized maximizer).

        Raises:
            ValueError: the solutions are not in ``theta``'s space and there are no
                features.
        """
        self._require_theta_space("value (F_eps)")
        value = self._cached(
            "value", lambda: self.values.reshape(self.num_samples, self.batch_size).mean(axis=0)
        )
        return self._out(value) if self.batched else float(value[0])

    @property
    def value_stderr(self) -> np.ndarray | float:
        """Monte-Carlo standard error of `value`."""
        self._require_theta_space("value_stderr")
        err = self._cached(
            "value_stderr",
            lambda: self._stderr_of(self.values.reshape(self.num_samples, self.batch_size)),
        )
        return self._out(err) if self.batched else float(err[0])

    @property
    def value_grad(self) -> np.ndarray:
        """Gradient of the estimate of `value` with respect to ``theta``.

        Additive noise: ``y_eps(theta)`` (Berthet et al., Prop. 2.2). Multiplicative:
        ``E[y_l * exp(eps Z_l - shift)]``, the envelope theorem through the factor.
        A generalized maximizer has ``g(y_l)`` in place of ``y_l``.
        """
        self._require_theta_space("value_grad (the gradient of F_eps)")
        if not self.multiplicative and self.features is None:
            return self.mean
        if not self.multiplicative:
            return self._out(
                self._cached(
                    "value_grad",
                    lambda: (
                        self._objective_vectors()
                        .reshape(self.num_samples, -1)
                        .mean(axis=0, dtype=np.float64)
                        .reshape(self.theta.shape)
                    ),
                )
            )
        return self._out(self._cached("value_grad", self._multiplicative_value_grad))

    def _multiplicative_value_grad(self) -> np.ndarray:
        plan = self.plan
        out = np.zeros((self.batch_size, plan.row_size))
        flat = self._objective_vectors()

        shift = float(plan.shift or 0.0)

        def block(index: int) -> tuple[int, np.ndarray]:
            start, stop = plan.block_bounds(index)
            factor = np.exp(
                plan.epsilon * self._noise_block(index).reshape(stop - start, -1).astype(np.float64)
                - shift
            )
            return start, flat[start:stop] * factor

        self._walk(plan.num_blocks, block, lambda part: add_rows(out, part[1], part[0]))
        return (out / self.num_samples).reshape(self.theta.shape)

    @property
    def hard(self) -> np.ndarray:
        """``y*(theta)``, the unperturbed solution, float64 ``(*b, *out)`` (solved on first
        use unless the call already had it, e.g. for warm starts)."""
        return self._out(self._hard())

    def _hard(self) -> np.ndarray:
        if self.known_hard is None:
            if self.unperturbed is None:  # pragma: no cover - results always carry one
                raise RuntimeError("this result cannot solve the unperturbed problem")
            self.known_hard = self.unperturbed()
        return self.known_hard

    # -- Jacobian products --------------------------------------------------------------

    def _groups(self) -> tuple[int, int]:
        """``(G, P)``: independent groups of samples, ``P`` samples each (antithetic
        pairs: ``P = 2``)."""
        return (self.num_samples // 2, 2) if self.plan.antithetic else (self.num_samples, 1)

    def _centred_weights(
        self, inner: np.ndarray, baseline: str, control: Callable[[], np.ndarray] | None
    ) -> np.ndarray:
        """``c_l = inner_l - b_l`` for scalars ``inner_l`` ``(M, B)``.

        ``"loo"``: ``b_l = (I - I_g(l)) / ((G - 1) P)``, the mean over the other groups
        (``I`` the sum over all samples, ``I_g`` over ``l``'s group); 0 when ``G < 2``.
        ``"control"``: ``b_l = control()`` ``(B,)``, the value at ``y*(theta)``.
        """
        check_baseline(baseline)
        if baseline == "none":
            return inner
        if baseline == "control":
            if control is None:  # pragma: no cover - callers always pass it
                raise RuntimeError("the control baseline needs y*(theta), which is missing")
            return inner - control()[None]
        count, size = self._groups()
        if count < 2:
            return inner
        group = self._group_sums(inner)
        if size > 1:
            group = np.concatenate([group, group])
        return inner - (inner.sum(axis=0)[None] - group) / ((count - 1) * size)

    def _as_tangent(self, value: Any, name: str) -> np.ndarray:
        """A cotangent ``g`` (the mean's shape) or a tangent ``v`` (theta's) as
        ``(B, n)``."""
        array = as_float_array(value, name)
        if name == "v":
            expected, what = self.batch_shape + self.instance_shape, "theta"
        else:
            expected, what = self.batch_shape + self.out_shape, "the perturbed solution"
        if array.shape != expected:
            raise ValueError(
                f"{name} has shape {array.shape}; it must have the shape of {what}, {expected}"
            )
        return array.reshape(self.batch_size, -1)

    def sample_baselines(self, per_sample: np.ndarray, baseline: Baseline) -> np.ndarray:
        """The baseline ``b_l`` of each sample of a per-sample quantity, for estimators
        of any order: ``(M, B, k)`` in, ``(M, B, k)`` float64 out.

        ``"none"``: 0; ``"loo"``: the mean over the other samples (the other antithetic
        pairs; 0 when there is no other); ``"control"``: the solution at ``theta``,
        ``y*(theta)`` (the quantity must then be the solutions themselves). ``b_l`` never
        depends on ``Z_l``, so ``E[(y_l - b_l) d^k w_l] = E[y_l d^k w_l]`` for every
        derivative of the likelihood ratio ``w_l``.
        """
        check_baseline(baseline)
        values = np.asarray(per_sample, dtype=np.float64)
        if baseline == "none":
            return np.zeros_like(values)
        if baseline == "control":
            hard = self._hard().reshape(1, self.batch_size, -1)
            return np.broadcast_to(hard, values.shape).copy()
        count, size = self._groups()
        if count < 2:
            return np.zeros_like(values)
        group = self._group_sums(values)
        if size > 1:
            group = np.concatenate([group, group])
        return (values.sum(axis=0)[None] - group) / ((count - 1) * size)

    def _sample_dot(self, vectors: np.ndarray) -> np.ndarray:
        """``<y_{m,i}, vectors_i>`` for every sample and item, ``(M, B)`` float64."""
        flat = self._flat().reshape(self.num_samples, self.batch_size, -1)
        out = np.empty((self.num_samples, self.batch_size))
        step = max(1, (1 << 16) // max(1, vectors.size))
        for low in range(0, self.num_samples, step):
            out[low : low + step] = np.einsum(
                "mbk,bk->mb", flat[low : low + step], vectors, dtype=np.float64
            )
        return out

    def _weighted_samples(self, weights: np.ndarray) -> np.ndarray:
        """``sum_l weights_l y_l`` per item, ``(B, |s|)`` float64, in sample order."""
        flat = self._flat().reshape(self.num_samples, self.batch_size, -1)
        out = np.zeros((self.batch_size, flat.shape[2]))
        step = max(1, (1 << 16) // max(1, out.size))
        for low in range(0, self.num_samples, step):
            out += np.einsum(
                "mb,mbk->bk", weights[low : low + step], flat[low : low + step], dtype=np.float64
            )
        return out

    def _weighted_scores(self, weights: np.ndarray) -> np.ndarray:
        """``sum_l weights_l grad nu(Z_l)`` per item, ``(B, |s|)``, block by block."""
        plan = self.plan
        out = np.zeros((self.batch_size, plan.row_size))
        flat_weights = weights.reshape(-1)

        def block(index: int) -> tuple[int, np.ndarray]:
            start, stop = plan.block_bounds(index)
            score = plan.noise.score(self._noise_block(index)).reshape(stop - start, -1)
            return start, score * flat_weights[start:stop, None]

        self._walk(plan.num_blocks, block, lambda part: add_rows(out, part[1], part[0]))
        return out

    def _score_dot(self, vectors: np.ndarray) -> np.ndarray:
        """``<grad nu(Z_{m,i}), vectors_i>`` for every sample and item, ``(M, B)``."""
        plan = self.plan
        out = np.empty(plan.num_rows)
        batch = self.batch_size

        def block(index: int) -> None:
            start, stop = plan.block_bounds(index)
            score = plan.noise.score(self._noise_block(index)).reshape(stop - start, -1)
            items = np.arange(start, stop) % batch
            out[start:stop] = np.einsum("rk,rk->r", score, vectors[items], dtype=np.float64)

        self._walk(plan.num_blocks, block, lambda _: None)
        return out.reshape(self.num_samples, batch)

    def _finish(self, out: np.ndarray) -> np.ndarray:
        out /= self.num_samples * self.epsilon
        out = out.reshape(self.theta.shape)
        if self.multiplicative:
            out /= self.theta
        return self._out(out)

    def vjp(self, g: Any, baseline: Baseline = "loo") -> np.ndarray:
        """Vector-Jacobian product ``J^T g`` of the perturbed solution.

        ``J^T g = (1 / (M eps)) sum_l (<y_l, g> - b_l) grad nu(Z_l)`` with baseline
        ``"none"`` (``b_l = 0``), ``"loo"`` (mean of ``<y_k, g>`` over the other samples,
        or the other antithetic pairs; ``0`` when there is no other), or ``"control"``
        (``<y*(theta), g>``, one unperturbed solve). All three are unbiased.
        Multiplicative noise divides the result by ``theta``.

        Args:
            g: cotangent, the shape of `mean` ``(*b, *out)``.
            baseline: variance-reduction baseline.

        Returns:
            ``J^T g``, theta's shape ``(*b, *s)``.
        """
        check_baseline(baseline)
        flat_g = self._as_tangent(g, "g")
        weights = self._centred_weights(
            self._sample_dot(flat_g),
            baseline,
            lambda: np.einsum("bk,bk->b", self._hard().reshape(self.batch_size, -1), flat_g),
        )
        return self._finish(self._weighted_scores(weights))

    def jvp(self, v: Any, baseline: Baseline = "loo") -> np.ndarray:
        """Jacobian-vector product ``J v`` of the perturbed solution.

        ``J v = (1 / (M eps)) sum_l (y_l - b_l) <grad nu(Z_l), v>`` (``v / theta`` for
        multiplicative noise), with the baselines of `vjp` applied to ``y_l``:
        the sum is ``sum_l c_l y_l`` with ``c_l = <grad nu(Z_l), v>`` centred by
        leave-one-out, minus ``(sum_l <grad nu(Z_l), v>) y*(theta)`` for the control.
        """
        check_baseline(baseline)
        flat_v = self._as_tangent(v, "v")
        if self.multiplicative:
            flat_v = flat_v / self.theta.reshape(self.batch_size, -1)
        inner = self._score_dot(flat_v)
        if baseline == "control":
            out = self._weighted_samples(inner)
            out -= inner.sum(axis=0)[:, None] * self._hard().reshape(self.batch_size, -1)
        else:
            out = self._weighted_samples(self._centred_weights(inner, baseline, None))
        out /= self.num_samples * self.epsilon
        return self._out(out.reshape(self._out_rows()))

    def jacobian(self, baseline: Baseline = "loo") -> np.ndarray:
        """The Jacobian of the perturbed solution, ``(*b, *out, *s)``.

        ``J[i, j] = d y_eps(theta)_i / d theta_j
        = (1 / (M eps)) sum_l (y_l - b_l)_i grad nu(Z_l)_j``, with the baselines of
        `vjp` applied to ``y_l`` (a vector now).
        """
        check_baseline(baseline)
        plan = self.plan
        d = plan.row_size
        k = self._flat().shape[1]
        if self.memory_limit is not None:
            check_memory(
                {"the Jacobian": self.batch_size * k * d * 8},
                self.memory_limit,
                "use vjp or jvp, which never form it",
            )
        out = np.zeros((self.batch_size, k, d))
        flat = self._flat()
        count, size = self._groups()
        total = self.solutions.reshape(self.num_samples, self.batch_size, -1).sum(
            axis=0, dtype=np.float64
        )
        hard = self._hard().reshape(self.batch_size, -1) if baseline == "control" else None

        def block(index: int) -> tuple[int, np.ndarray, np.ndarray]:
            start, stop = plan.block_bounds(index)
            y = flat[start:stop].astype(np.float64)
            items = np.arange(start, stop) % self.batch_size
            if baseline == "control":
                y -= hard[items]  # type: ignore[index]
            elif baseline == "loo" and count >= 2:
                group = y.copy()
                if size > 1:  # the partner of row r is r +- M B / 2
                    half = plan.drawn_rows
                    partner = np.arange(start, stop) + (half if start < half else -half)
                    group += flat[partner]
                y -= (total[items] - group) / ((count - 1) * size)
            score = plan.noise.score(self._noise_block(index)).reshape(stop - start, -1)
            return start, y, score

        self._walk(plan.num_blocks, block, lambda part: add_outer(out, *part))
        out /= self.num_samples * self.epsilon
        if self.multiplicative:
            out /= self.theta.reshape(self.batch_size, 1, -1)
        return out.reshape(self.batch_shape + self.out_shape + self.instance_shape)
