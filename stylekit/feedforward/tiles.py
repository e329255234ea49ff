"""Tile-by-tile evaluation of the fast models' local stages, for images whose activations would not fit whole.

A stage is local when each output pixel depends only on the input within ``reach`` pixels of it (convolutions,
pooling, upsampling). It runs over tiles of the image, each read with a halo of at least that reach and with
corners on multiples of the stage's largest stride, and only each tile's core is written out: every core
pixel then sees exactly what it sees in the whole image, so the tiled result equals the whole image's up to
float rounding, with no seam to blend away. The per-image statistics between stages (AdaIN's means and
deviations, WCT's covariances) are computed over the whole image by the models themselves.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ..objectives.tiled import Tile, TileLayout, tiles

TILE = 1024  # core side, in image pixels, of the tiles the fast models run in when an image does not fit whole
Stage = Callable[[torch.Tensor, Tile], torch.Tensor]  # a local stage, given a padded patch and its tile


def layout(core: int, reach: int, align: int) -> TileLayout:
    """Cores of about ``core`` px and a halo of at least ``reach`` px, both multiples of ``align``."""
    up = -(-reach // align) * align
    return TileLayout(max(align, core // align * align), up, align)


def reach(*parts: nn.Module, jump: int = 1) -> int:
    """How far (in image pixels) one output pixel of ``parts``, run in order, sees on each side of it; ``jump``
    is the image pixels per input pixel of the first part.

    Counted as the band along a tile's edge whose values differ from the whole image's: a k×k convolution
    widens it by k//2 pixels and a stride divides it (rounding up), a 2x upsampling doubles it (plus one pixel
    when bilinear).
    """
    band, scale = 0, float(jump)
    for part in parts:
        for module in part.modules():
            if isinstance(module, nn.Conv2d):
                band = math.ceil((band + module.kernel_size[0] // 2 * module.dilation[0]) / module.stride[0])
                scale *= module.stride[0]
            elif isinstance(module, nn.Upsample):
                band = band * int(module.scale_factor) + (module.mode != "nearest")
                scale /= module.scale_factor
    return math.ceil(band * scale)


def tile_cores(stage: Stage, x: torch.Tensor, grid: TileLayout, stride_in: int = 1,
               stride_out: int = 1) -> Iterator[tuple[Tile, torch.Tensor]]:
    """Each tile of ``grid`` over the image that ``x`` (at 1/``stride_in`` of the image's resolution) covers,
    with the core of ``stage`` applied to its padded patch (at 1/``stride_out``)."""
    for t in tiles(x.shape[-2] * stride_in, x.shape[-1] * stride_in, grid):
        patch = x[..., t.py0 // stride_in:t.py1 // stride_in, t.px0 // stride_in:t.px1 // stride_in]
        yield t, t.core(stage(patch, t), stride_out)


def map_tiles(stage: Stage, x: torch.Tensor, grid: TileLayout, stride_in: int = 1,
              stride_out: int = 1) -> torch.Tensor:
    """``stage`` applied to the whole of ``x`` (see :func:`tile_cores`), assembled from the tiles' cores."""
    out = None
    for t, core in tile_cores(stage, x, grid, stride_in, stride_out):
        if out is None:
            h, w = x.shape[-2] * stride_in // stride_out, x.shape[-1] * stride_in // stride_out
            out = core.new_empty((*core.shape[:-2], h, w))
        t.region(out, stride_out).copy_(core)
    return out
