"""A generalized maximizer: learn to schedule a job from the start times chosen before.

The decision is a start time ``s`` (a single integer, not a vector of ``theta``'s shape):
the job occupies ``duration`` consecutive slots from ``s``, earns the predicted reward
``theta_t`` of each slot it occupies and pays ``delay_cost`` per slot of delay. So the
objective is ``<theta, g(s)> + h(s)`` with ``g(s)`` the indicator of the occupied slots
and ``h(s) = -delay_cost * s``: InferOpt's generalized maximizer. With ``features`` and
``offset`` on the solver, the Fenchel-Young loss ``F_eps(theta) - <theta, g(s)> - h(s)``
trains a model on observed start times alone, with gradient ``E[g(s_eps)] - g(s)``.

Run: python examples/generalized_maximizer.py
"""

from __future__ import annotations

import numpy as np
import torch

from perturbopt.torch import FenchelYoungLoss


class StartTime:
    """``argmax_s <theta, g(s)> - delay_cost * s`` over the start slots of a job."""

    sense = "max"
    name = "start_time"

    def __init__(self, slots: int, duration: int, delay_cost: float) -> None:
        self.slots, self.duration, self.delay_cost = slots, duration, delay_cost
        self.shape = (slots,)  # one reward per slot

    def output_shape(self, instance_shape: tuple[int, ...]) -> tuple[int, ...]:
        return ()  # the decision is one start time

    def solve(self, theta: np.ndarray, *, hint: np.ndarray | None = None) -> np.ndarray:
        window = np.convolve(theta, np.ones(self.duration), mode="valid")  # slot sums
        return np.array(np.argmax(window - self.delay_cost * np.arange(window.size)))

    def features(self, start: np.ndarray) -> np.ndarray:
        g = np.zeros(self.slots)
        g[int(start) : int(start) + self.duration] = 1.0
        return g

    def offset(self, start: np.ndarray) -> float:
        return -self.delay_cost * float(start)


def main() -> None:
    rng = np.random.default_rng(0)
    slots, features_in, n = 8, 5, 400
    solver = StartTime(slots, duration=3, delay_cost=0.05)
    true_weights = rng.normal(size=(features_in, slots))
    x = rng.normal(size=(n, features_in))
    starts = np.array([solver.solve(row) for row in x @ true_weights])  # what was chosen

    model = torch.nn.Linear(features_in, slots, bias=False, dtype=torch.float64)
    loss_fn = FenchelYoungLoss(solver, epsilon=0.5, num_samples=8, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    inputs, targets = torch.tensor(x), torch.tensor(starts)
    train, test = slice(0, 300), slice(300, None)

    def accuracy() -> float:
        with torch.no_grad():
            predicted = [solver.solve(row) for row in model(inputs[test]).numpy()]
        return float(np.mean(np.array(predicted) == starts[test]))

    print(f"epoch 0: test accuracy {accuracy():.2f}")
    for epoch in range(1, 41):
        optimizer.zero_grad()
        loss_fn(model(inputs[train]), targets[train]).backward()
        optimizer.step()
        if epoch % 20 == 0:
            print(f"epoch {epoch}: test accuracy {accuracy():.2f}")


if __name__ == "__main__":
    main()
