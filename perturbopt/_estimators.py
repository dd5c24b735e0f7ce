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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._engine import PerturbationPlan
from ._validation import as_float_array

__all__ = ["BASELINES", "Baseline", "PerturbedResult", "check_baseline"]

Baseline = Literal["none", "loo", "control"]
BASELINES: tuple[str, ...] = ("none", "loo", "control")


def check_baseline(baseline: object) -> Baseline:
    """``baseline`` if it is one of :data:`BASELINES`, else a ``ValueError`` saying which are."""
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {', '.join(map(repr, BASELINES))}, got "
                         f"{baseline!r} ('loo', leave-one-out, is the default and needs no "
                         "extra solve)")
    return baseline  # type: ignore[return-value]


@dataclass(eq=False)
class PerturbedResult:
    """Samples of one perturbed solve and the estimators built on them.

    Shapes below write ``s`` for one instance's shape; a batched ``theta`` of shape
    ``(B, *s)`` gives batched results, an unbatched one drops the ``B`` axis.

    Attributes:
        plan: the noise and the perturbed inputs it defines.
        samples: the ``M`` solutions ``y_l``, ``(M, B, *s)``, in the smallest integer type
            that holds them exactly (``int8`` for 0/1 solutions), else float64.
        sample_values: ``<y_l, theta_l>``, ``(M, B)``.
        sense: the solver's sense, ``"max"`` or ``"min"``.
        score: ``grad nu``, the noise's score function.
        antithetic: whether ``Z_{l + M/2} = -Z_l``.
        batched: whether ``theta`` came with a batch axis.
        hard_solver: computes ``y*(theta)`` ``(B, *s)`` when first needed.
    """

    plan: PerturbationPlan
    samples: np.ndarray
    sample_values: np.ndarray
    sense: str
    score: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    antithetic: bool
    batched: bool
    hard_solver: Callable[[], np.ndarray] = field(repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def theta(self) -> np.ndarray:
        """The input, always batched: ``(B, *s)`` float64."""
        return self.plan.theta

    @property
    def noise(self) -> np.ndarray:
        """The draws ``Z_l``, ``(M, B, *s)`` (redrawn on each access if the perturbed
        object was built with ``keep_noise=False``)."""
        return self.plan.draws()

    @property
    def epsilon(self) -> float:
        """The noise scale."""
        return self.plan.epsilon

    @property
    def multiplicative(self) -> bool:
        """Whether the noise was multiplicative."""
        return self.plan.multiplicative_shift is not None

    # -- helpers ----------------------------------------------------------------

    @property
    def num_samples(self) -> int:
        """``M``, the number of perturbations."""
        return self.samples.shape[0]

    @property
    def _instance_axes(self) -> tuple[int, ...]:
        return tuple(range(2, self.samples.ndim))

    def _out(self, value: np.ndarray) -> np.ndarray:
        return value if self.batched else value[0]

    def _cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _groups(self) -> np.ndarray:
        """Independent groups of samples: antithetic pairs, else single samples.

        Returns the index array ``(G, P)``: ``G`` groups of ``P`` samples each.
        """
        m = self.num_samples
        if self.antithetic:
            half = m // 2
            return np.stack([np.arange(half), np.arange(half, m)], axis=1)
        return np.arange(m)[:, None]

    def _group_means(self, per_sample: np.ndarray) -> np.ndarray:
        groups = self._groups()
        return per_sample[groups].mean(axis=1) if groups.shape[1] > 1 else per_sample

    def _stderr_of(self, per_sample: np.ndarray) -> np.ndarray:
        grouped = self._group_means(np.asarray(per_sample, dtype=np.float64))
        count = grouped.shape[0]
        if count < 2:
            return np.full(grouped.shape[1:], np.nan)
        return grouped.std(axis=0, ddof=1) / np.sqrt(count)

    # -- perturbed solution and optimum ------------------------------------------

    @property
    def mean(self) -> np.ndarray:
        """``y_eps(theta)``, the mean of the ``M`` solutions, float64 ``(B, *s)``."""
        return self._out(self._cached("mean", lambda: self.samples.mean(axis=0, dtype=np.float64)))

    @property
    def stderr(self) -> np.ndarray:
        """Monte-Carlo standard error of :attr:`mean` (NaN when it cannot be estimated,
        ``M = 1``); computed over antithetic pair means when pairs are used."""
        return self._out(self._cached("stderr", lambda: self._stderr_of(self.samples)))

    @property
    def value(self) -> np.ndarray | float:
        """``F_eps(theta) = E[<y*(theta_l), theta_l>]``, one per batch item."""
        value = self._cached("value", lambda: self.sample_values.mean(axis=0))
        return value if self.batched else float(value[0])

    @property
    def value_stderr(self) -> np.ndarray | float:
        """Monte-Carlo standard error of :attr:`value`."""
        err = self._cached("value_stderr", lambda: self._stderr_of(self.sample_values))
        return err if self.batched else float(err[0])

    @property
    def value_grad(self) -> np.ndarray:
        """Gradient of the estimate of :attr:`value` with respect to ``theta``.

        Additive noise: ``y_eps(theta)`` (Berthet et al., Prop. 2.2). Multiplicative:
        ``E[y_l * exp(eps Z_l - shift)]``, the envelope theorem through the factor.
        """
        if not self.multiplicative:
            return self.mean
        return self._out(self._cached("value_grad", self._multiplicative_value_grad))

    def _multiplicative_value_grad(self) -> np.ndarray:
        perturbed = self.plan.rows(0, self.plan.num_rows).reshape(self.samples.shape)
        return (self.samples * (perturbed / self.theta[None])).mean(axis=0)

    @property
    def hard(self) -> np.ndarray:
        """``y*(theta)``, the unperturbed solution (solved once, on first use)."""
        return self._out(self._cached("hard", self.hard_solver))

    # -- Jacobian products --------------------------------------------------------

    def _baseline_values(self, per_sample: np.ndarray, baseline: str,
                         hard_value: Callable[[], np.ndarray]) -> np.ndarray | float:
        """``b_l`` for each sample, broadcastable against ``per_sample`` ``(M, B, ...)``."""
        check_baseline(baseline)
        if baseline == "none":
            return 0.0
        if baseline == "control":
            return hard_value()[None]
        groups = self._groups()
        count, size = groups.shape
        if count < 2:  # no other group to average: leave-one-out is undefined
            return 0.0
        group_sums = per_sample[groups].sum(axis=1)  # (G, B, ...)
        others = (group_sums.sum(axis=0)[None] - group_sums) / ((count - 1) * size)
        baseline_of_sample = np.empty_like(others, shape=per_sample.shape)
        for column in range(size):
            baseline_of_sample[groups[:, column]] = others
        return baseline_of_sample

    def _weighted_score_sum(self, weights: np.ndarray) -> np.ndarray:
        """``(1 / (M eps)) sum_l weights[l] * grad nu(Z_l)``, shape ``(B, *s)``."""
        out = np.einsum("mb,mbk->bk", weights, self._flat_score()).reshape(self.theta.shape)
        out /= self.num_samples * self.epsilon
        if self.multiplicative:
            out /= self.theta
        return out

    def vjp(self, g: Any, baseline: Baseline = "loo") -> np.ndarray:
        """Vector-Jacobian product ``J^T g`` of the perturbed solution.

        ``J^T g = (1 / (M eps)) sum_l (<y_l, g> - b_l) grad nu(Z_l)`` with baseline
        ``"none"`` (``b_l = 0``), ``"loo"`` (mean of ``<y_k, g>`` over the other samples,
        or the other antithetic pairs; ``0`` when there is no other), or ``"control"``
        (``<y*(theta), g>``). All three are unbiased. Multiplicative noise divides the
        result by ``theta``.

        Args:
            g: cotangent, the shape of :attr:`mean`.
            baseline: variance-reduction baseline.
        """
        g = self._as_tangent(g, "g")
        flat_samples = self.samples.reshape(self.samples.shape[:2] + (-1,))
        flat_g = g.reshape(g.shape[0], -1)
        inner = np.einsum("mbk,bk->mb", flat_samples, flat_g, dtype=np.float64)

        def hard_inner() -> np.ndarray:
            return np.einsum("bk,bk->b", self._hard_flat(), flat_g)

        weights = inner - self._baseline_values(inner, baseline, hard_inner)
        return self._out(self._weighted_score_sum(weights))

    def jvp(self, v: Any, baseline: Baseline = "loo") -> np.ndarray:
        """Jacobian-vector product ``J v`` of the perturbed solution.

        ``J v = (1 / (M eps)) sum_l (y_l - b_l) <grad nu(Z_l), v>`` (``v / theta`` for
        multiplicative noise), with the baselines of :meth:`vjp` applied to ``y_l``.
        """
        v = self._as_tangent(v, "v")
        if self.multiplicative:
            v = v / self.theta
        inner = np.einsum("mbk,bk->mb", self._flat_score(), v.reshape(v.shape[0], -1))
        centred = self._centred_samples(baseline)
        out = np.einsum("mb,mbk->bk", inner, centred) / (self.num_samples * self.epsilon)
        return self._out(out.reshape(self.theta.shape))

    def jacobian(self, baseline: Baseline = "loo") -> np.ndarray:
        """The Jacobian of the perturbed solution, ``(B, *s, *s)`` (``(*s, *s)`` unbatched).

        ``J[b, i, j] = d y_eps(theta_b)_i / d theta_b,j
        = (1 / (M eps)) sum_l (y_l - b_l)_i grad nu(Z_l)_j``.
        """
        centred = self._centred_samples(baseline)
        jac = np.einsum("mbi,mbj->bij", centred, self._flat_score()) / (
            self.num_samples * self.epsilon)
        if self.multiplicative:
            jac /= self.theta.reshape(self.theta.shape[0], 1, -1)
        shape = self.theta.shape[1:]
        return self._out(jac.reshape((self.theta.shape[0],) + shape + shape))

    def _flat_score(self) -> np.ndarray:
        """``grad nu(Z_l)`` for every sample, ``(M, B, |s|)``, computed once."""
        score = self._cached("score", lambda: self.score(self.noise))
        return score.reshape(score.shape[:2] + (-1,))

    def _centred_samples(self, baseline: str) -> np.ndarray:
        """``y_l - b_l`` as float64 ``(M, B, |s|)``, for the Jacobian and its products."""
        samples = self.samples.reshape(self.samples.shape[:2] + (-1,)).astype(np.float64)
        return samples - self._baseline_values(samples, baseline, self._hard_flat)

    def _hard_flat(self) -> np.ndarray:
        hard = self._cached("hard", self.hard_solver)
        return hard.reshape(hard.shape[0], -1)

    def _as_tangent(self, value: Any, name: str) -> np.ndarray:
        array = as_float_array(value, name)
        expected = self.theta.shape if self.batched else self.theta.shape[1:]
        if array.shape != expected:
            raise ValueError(f"{name} has shape {array.shape}; it must have the shape of the "
                             f"perturbed solution, {expected}")
        return array if self.batched else array[None]
