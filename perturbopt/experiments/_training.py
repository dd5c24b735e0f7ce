"""The training loop every experiment shares: seeded minibatches, Adam, an optional
cosine decay of the step size, a progress bar and a callback after each epoch."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._util import Progress, torch_single_thread

if TYPE_CHECKING:
    import torch

__all__ = ["Schedule", "fit"]

Schedule = Literal["constant", "cosine"]


def fit(
    parameters: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
    batch_loss: Callable[[np.ndarray], torch.Tensor],
    *,
    num_examples: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    schedule: Schedule = "constant",
    after_epoch: Callable[[int], str] | None = None,
    bar: Progress | None = None,
) -> np.ndarray:
    """Minimise ``batch_loss`` over minibatches with Adam.

    Each epoch visits the ``num_examples`` examples once, in an order drawn from a
    generator seeded with ``seed`` (the same order for every model trained with that
    seed), ``batch_size`` at a time (the last batch may be smaller). A step computes
    ``batch_loss(index)``, back-propagates it and updates ``parameters``. With
    ``schedule="cosine"`` each step size decays from its initial value to 0 over all
    ``T`` steps, ``lr_t = lr_0 (1 + cos(pi t / T)) / 2``. Torch runs on one intra-op
    thread meanwhile (`torch_single_thread`): the experiments' models are small.

    Args:
        parameters: the tensors to train (``requires_grad=True``), or torch's
            parameter groups (dicts with ``"params"`` and, optionally, their own
            ``"lr"``).
        batch_loss: maps the indices of a minibatch, an int64 array, to a scalar loss.
        num_examples: size of the training set.
        epochs: passes over the training set.
        batch_size: examples per step.
        learning_rate: Adam's (initial) step size, for groups without their own.
        seed: seeds the order of the examples.
        schedule: ``"constant"`` or ``"cosine"``.
        after_epoch: called with the epoch's number (from 0) after it; the text it
            returns is shown after the progress bar.
        bar: advanced by one per step when given.

    Returns:
        The mean training loss of each epoch, ``(epochs,)``.
    """
    import torch

    optimiser = torch.optim.Adam(parameters, lr=learning_rate)
    steps_per_epoch = -(-num_examples // batch_size)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs * steps_per_epoch)
        if schedule == "cosine"
        else None
    )
    order_rng = np.random.default_rng(seed)
    losses = np.empty(epochs)
    with torch_single_thread():
        for epoch in range(epochs):
            order = order_rng.permutation(num_examples)
            total = 0.0
            for start in range(0, num_examples, batch_size):
                index = order[start : start + batch_size]
                loss = batch_loss(index)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                if scheduler is not None:
                    scheduler.step()
                total += float(loss.detach()) * len(index)
                if bar is not None:
                    bar.update(1)
            losses[epoch] = total / num_examples
            text = f"train loss {losses[epoch]:.4g}"
            if after_epoch is not None:
                text = f"{text}, {after_epoch(epoch)}"
            if bar is not None:
                bar.set_postfix_str(text)
    return losses
