"""Pixel spaces: the values an optimisation actually changes, so a tutorial's learning rate and noise mean what
they meant there (pixels in [0, 1], in 0-255, or the network's preprocessed input)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PixelSpace:
    """A per-channel affine map from RGB in [0, 1]: ``y = (x[channels] * value_range - mean) / std``, with the
    channels reversed (BGR) when ``bgr``; mean and std are in the space's own channel order."""

    name: str = "unit"
    value_range: float = 1.0
    mean: Sequence[float] = (0.0, 0.0, 0.0)
    std: Sequence[float] = (1.0, 1.0, 1.0)
    bgr: bool = False

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.tensor(self.mean, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
        return mean, std

    def to_space(self, image: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] into this space."""
        mean, std = self._stats(image)
        x = image.flip(1) if self.bgr else image
        return (x * self.value_range - mean) / std

    def to_unit(self, values: torch.Tensor) -> torch.Tensor:
        """Values of this space back to RGB (in [0, 1] where they are in range); differentiable."""
        mean, std = self._stats(values)
        x = (values * std + mean) / self.value_range
        return x.flip(1) if self.bgr else x

    def clamp(self, values: torch.Tensor) -> torch.Tensor:
        """The values with their RGB image clamped to [0, 1]."""
        return self.to_space(self.to_unit(values).clamp(0, 1))


UNIT = PixelSpace()
RANGE_255 = PixelSpace("255", 255.0)
