"""Guided upsampling (He and Sun's fast guided filter, 2015): a result computed at a small size brought back to a
large one along the edges of a large guide image, so a fast model can paint large strokes on a large photo and
keep its sharp detail (``--stroke-scale``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import color

RADIUS = 2  # box radius of the filter, in pixels of the small size
EPS = 1e-3  # regularisation: larger keeps the small result's own texture, smaller follows the guide's edges more


def _box(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)-square window, edges mirrored (``radius`` below each side)."""
    return F.avg_pool2d(F.pad(x, (radius,) * 4, mode="reflect"), 2 * radius + 1, stride=1) if radius else x


def guided_upsample(small: torch.Tensor, guide: torch.Tensor, radius: int = RADIUS, eps: float = EPS) -> torch.Tensor:
    """``small`` (B, C, h, w) at ``guide``'s size (B, 3, H, W): per channel, the linear map from the guide's
    luminance to ``small`` fitted in each window at the small size, its coefficients smoothed and brought up
    (bilinear), then applied to the full-size luminance. Flat areas take ``small``'s colours; edges follow the
    guide."""
    guide_small = F.interpolate(guide, size=small.shape[-2:], mode="area")
    radius = max(0, min(radius, small.shape[-2] - 1, small.shape[-1] - 1))
    lum, lum_small = color.luminance(guide), color.luminance(guide_small)
    mean_i, mean_p = _box(lum_small, radius), _box(small, radius)
    cov = _box(lum_small * small, radius) - mean_i * mean_p
    var = _box(lum_small * lum_small, radius) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    up = dict(size=guide.shape[-2:], mode="bilinear", align_corners=False)
    return F.interpolate(_box(a, radius), **up) * lum + F.interpolate(_box(b, radius), **up)
