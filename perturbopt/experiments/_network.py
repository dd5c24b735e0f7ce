"""The cost network of the shortest-path experiment (imports torch)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["Standardise", "cost_network"]


class Standardise(torch.nn.Module):
    """Images ``(B, H, W, 3)`` (uint8 or float) to float32 ``(B, 3, H, W)``, each channel
    standardised with fixed statistics ``(x - mean) / std``."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = images.permute(0, 3, 1, 2).to(torch.float32)
        return (pixels - self.mean) / self.std


def cost_network(
    channels: int, seed: int, mean: Sequence[float], std: Sequence[float]
) -> torch.nn.Module:
    """Standardise, then three convolutions (4x4 stride 4, 2x2 stride 2, 1x1) with ReLUs
    between them and a softplus at the end: images ``(B, 8k, 8k, 3)`` -> costs
    ``(B, k, k)``. Initialised from ``seed`` without touching torch's global generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.nn.Sequential(
            Standardise(mean, std),
            torch.nn.Conv2d(3, channels, kernel_size=4, stride=4),
            torch.nn.ReLU(),
            torch.nn.Conv2d(channels, channels, kernel_size=2, stride=2),
            torch.nn.ReLU(),
            torch.nn.Conv2d(channels, 1, kernel_size=1),
            torch.nn.Softplus(),
            torch.nn.Flatten(0, 1),
        )
