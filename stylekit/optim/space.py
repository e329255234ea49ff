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


# Lucid's colour decorrelation: the square root of ImageNet's colour covariance (from its SVD), its columns scaled
# so the largest has norm 1.
COLOR_SQRT = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))


@dataclass(frozen=True)
class FourierSpace(PixelSpace):
    """Lucid's image parameterisation (Olah et al., "Feature Visualization", 2017): the values optimised are an
    image's Fourier spectrum, scaled by 1/frequency^``decay`` so that every frequency moves at a similar rate, in
    decorrelated colour, through a sigmoid into [0, 1]. Gradient steps then make natural-looking images instead
    of high-frequency noise. ``size`` (h, w) is the image's; values are (B, 3, h, w // 2 + 1, 2) (real, imag)."""

    name: str = "fourier"
    size: tuple[int, int] = (224, 224)
    decay: float = 1.0

    def _scale(self, like: torch.Tensor) -> torch.Tensor:
        h, w = self.size
        fy = torch.fft.fftfreq(h, device=like.device, dtype=torch.float32)[:, None]
        fx = torch.fft.rfftfreq(w, device=like.device, dtype=torch.float32)[None, :]
        freqs = (fy * fy + fx * fx).sqrt()
        return (1.0 / freqs.clamp_min(1.0 / max(h, w)) ** self.decay).to(like.dtype)  # with irfft2 "ortho"

    def _colors(self, like: torch.Tensor) -> torch.Tensor:
        matrix = torch.tensor(COLOR_SQRT, dtype=like.dtype, device=like.device)
        return matrix / matrix.norm(dim=0).max()

    def to_unit(self, values: torch.Tensor) -> torch.Tensor:
        """Spectrum values to RGB in [0, 1]; differentiable."""
        spectrum = torch.view_as_complex(values.contiguous()) * self._scale(values)
        x = torch.fft.irfft2(spectrum, s=self.size, norm="ortho") / 4
        x = torch.einsum("bchw,dc->bdhw", x, self._colors(x))
        return torch.sigmoid(x)

    def to_space(self, image: torch.Tensor) -> torch.Tensor:
        """RGB (in [0, 1]) to the spectrum values whose image it is (up to the sigmoid's limits)."""
        x = torch.logit(image.float().clamp(1e-4, 1 - 1e-4))
        x = torch.einsum("bdhw,cd->bchw", x, torch.linalg.inv(self._colors(x)))
        spectrum = torch.fft.rfft2(x * 4, norm="ortho") / self._scale(x)
        return torch.view_as_real(spectrum).to(image.dtype)

    def clamp(self, values: torch.Tensor) -> torch.Tensor:
        """Every value is a valid image already (the sigmoid keeps it in range)."""
        return values

    def random(self, batch: int, generator: torch.Generator, sd: float = 0.01) -> torch.Tensor:
        """Lucid's start: a faint random spectrum (an almost uniform grey image), as RGB."""
        h, w = self.size
        return self.to_unit(torch.randn((batch, 3, h, w // 2 + 1, 2), generator=generator) * sd)
