"""Image sizes and resizing, shared by every method and model."""
from __future__ import annotations

import torch
import torch.nn.functional as nnf

from ..errors import StylekitError

MIN_SIDE = 16  # the shortest side an image is worked on at (the smallest size option, the networks' useful minimum)


def fit_long_side(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) scaled so that max(h, w) == long_side, keeping the aspect ratio."""
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def target_hw(height: int, width: int, size: int | tuple[int, int] | None) -> tuple[int, int]:
    """The (h, w) an image of (height, width) is brought to: ``size`` an int is its long side, a pair is
    (h, w) exactly, None keeps it."""
    if size is None:
        return height, width
    if isinstance(size, int):
        return fit_long_side(height, width, size)
    return int(size[0]), int(size[1])


def checked_hw(height: int, width: int, size: int | tuple[int, int] | None, label: str) -> tuple[int, int]:
    """:func:`target_hw`, refusing a result with a side under :data:`MIN_SIDE` pixels (a 4000x8 strip at
    size 512 would be 512x1) in one line that names the image."""
    hw = target_hw(height, width, size)
    if min(hw) < MIN_SIDE:
        raise StylekitError(f"{label} is {width}x{height} px and would be {hw[1]}x{hw[0]} at this size, but every "
                            f"side must be at least {MIN_SIDE} px: choose a larger size or crop it to a less "
                            "elongated shape")
    return hw


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize of a (B, C, H, W) image (antialiased when shrinking), clamped to [0, 1]."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    shrinking = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    return nnf.interpolate(image, size=size, mode="bicubic", align_corners=False,
                           antialias=shrinking).clamp(0, 1)


def resize_wrapped(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a (B, C, H, W) image seen as a torus: the samples near one edge read the opposite edge,
    so a tileable image stays tileable (no antialiasing: for enlarging between scales)."""
    out = image
    for axis, new in ((-2, size[0]), (-1, size[1])):
        old = out.shape[axis]
        if old == new:
            continue
        where = (torch.arange(new, dtype=torch.float64, device=image.device) + 0.5) * old / new - 0.5
        low = where.floor()
        frac = (where - low).to(image.dtype)
        i0, i1 = low.long() % old, (low.long() + 1) % old
        shape = [1] * out.dim()
        shape[axis] = new
        frac = frac.view(shape)
        out = out.index_select(axis, i0) * (1 - frac) + out.index_select(axis, i1) * frac
    return out.clamp(0, 1)


def resize_to(image: torch.Tensor, size: int | tuple[int, int] | None) -> torch.Tensor:
    """Bilinear, antialiased resize of a (B, C, H, W) image to ``size`` (see :func:`target_hw`), clamped to
    [0, 1]; the feed-forward models' input resize."""
    hw = target_hw(*image.shape[-2:], size)
    if hw == tuple(image.shape[-2:]):
        return image
    return nnf.interpolate(image, size=hw, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
