"""Type aliases used in public signatures."""

from __future__ import annotations

from typing import Literal

__all__ = ["Baseline", "NoiseDType", "Perturbation", "Sense"]

Sense = Literal["max", "min"]
"""Whether a solver maximises (``"max"``) or minimises (``"min"``) ``<y, theta>``."""

Perturbation = Literal["additive", "multiplicative"]
"""``theta + eps Z`` (``"additive"``) or ``theta * exp(eps Z - log E[e^{eps Z}])``."""

Baseline = Literal["none", "loo", "control"]
"""Variance-reduction baseline of the Jacobian estimators: none, leave-one-out, or the
control variate ``<y*(theta), g>``."""

NoiseDType = Literal["float64", "float32"]
"""Floating-point type in which the noise is drawn and the perturbed inputs built."""
