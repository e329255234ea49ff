"""What every fast (feed-forward) model offers :class:`~stylekit.feedforward.FastStylizer`: a network loaded from
its weight files that encodes the styles once into a code, blends codes, and stylises content with a code.

A new model is one more subclass of :class:`FastModel` (plus its weight files in
:data:`~stylekit.feedforward.weights.REGISTRY` and its name in :data:`~stylekit.feedforward.shared.MODELS`);
the stylizer never asks which model it runs.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..objectives.targets import unclaimed
from ..options import FastOptions


def pad_to(image: torch.Tensor, multiple: int, minimum: int = 1) -> torch.Tensor:
    """Replicate-pad the bottom and right to sides that are multiples of ``multiple`` and at least ``minimum``."""
    h, w = (max(side, minimum) for side in image.shape[-2:])
    return F.pad(image, (0, w + -w % multiple - image.shape[-1], 0, h + -h % multiple - image.shape[-2]),
                 mode="replicate")


def region_at(region: torch.Tensor, hw: Sequence[int]) -> torch.Tensor:
    """A (1, 1, H, W) region map brought to a layer's (h, w): area-averaged down, bilinear up."""
    if tuple(region.shape[-2:]) == tuple(hw):
        return region
    down = region.shape[-2] >= hw[0] and region.shape[-1] >= hw[1]
    return F.interpolate(region, size=tuple(hw), mode="area" if down else "bilinear",
                         **({} if down else {"align_corners": False}))


def region_weights(masks: Sequence[torch.Tensor], codes: int) -> list[torch.Tensor]:
    """Per-pixel weights of ``codes`` styles placed by ``masks`` ((1, 1, H, W) in [0, 1], one per style at most;
    the styles beyond them share what no mask claims), summing to 1 at every pixel (where nothing claims a pixel,
    every style weighs the same there)."""
    areas = [m.clamp(0, 1) for m in masks]
    rest = codes - len(areas)
    if rest > 0:
        free = unclaimed(areas)
        areas += [free / rest] * rest
    total = torch.stack(areas).sum(0)
    empty = total < 1e-6
    return [torch.where(empty, torch.full_like(a, 1 / len(areas)), a / total.clamp_min(1e-6)) for a in areas]


@dataclass(frozen=True)
class StyleContext:
    """What :meth:`FastModel.encode` may use besides the style images: each image's blend weight (summing to 1),
    the run's options (``levels``, ``builtin`` ...), the device, and ``fit(style, index)``, the stylizer's
    memory planning for style image ``index``: the image as the model should encode it (padded to whole
    multiples when tiled) and the tile size (None: whole)."""

    weights: list[float]
    options: FastOptions
    device: torch.device
    fit: Callable[[torch.Tensor, int], tuple[torch.Tensor, int | None]]


class FastModel(nn.Module, ABC):
    """A feed-forward style-transfer network. Codes are whatever the model needs of the styles (a style vector,
    feature statistics ...); the stylizer keeps them and passes them back, the network itself never changes
    after :meth:`load_files` (one loaded network is shared by every run in the process).

    ``peak_bytes_per_pixel`` is the fitted peak memory of one image on top of the loaded model, in bytes per
    padded pixel, (whole, in tiles); in tiles None when the model only runs whole (its norms see the whole
    image): :meth:`FastStylizer.plan` plans with it.
    """

    multiple: int = 1  # content and tiled style sides must be multiples of this
    min_content: int = 1  # the shortest content side the network accepts
    min_style: int = 1  # the shortest style side the network accepts
    peak_bytes_per_pixel: tuple[int, int | None]

    @abstractmethod
    def load_files(self, paths: Mapping[str, str | os.PathLike]) -> FastModel:
        """Load the weight files (keys as in the weights registry); returns the network, frozen, in eval mode."""

    @abstractmethod
    def encode(self, styles: Sequence[torch.Tensor], context: StyleContext) -> Any:
        """The code of the (1, 3, H, W) style images in [0, 1], blended with ``context.weights``."""

    def blend(self, codes: Sequence[Any], weights: Sequence[float]) -> Any:
        """The weighted sum of ``codes`` (codes linear in what the network does with them, as tensors)."""
        return sum(w * code for code, w in zip(codes, weights))

    def stylize_regions(self, content: torch.Tensor, codes: Sequence[Any], regions: Sequence[torch.Tensor],
                        alpha: float = 1.0) -> torch.Tensor:
        """(1, 3, H, W) content rendered with each of ``codes`` in its region (``regions``: (1, 1, H, W) per-pixel
        weights summing to 1), the models whose codes are linear in what they do mixing them per pixel; whole,
        never tiled."""
        raise NotImplementedError(f"{type(self).__name__} cannot place styles by masks")

    @abstractmethod
    def stylize(self, content: torch.Tensor, code: Any, alpha: float = 1.0, mask: torch.Tensor | None = None,
                tile: int | None = None) -> torch.Tensor:
        """(1, 3, H, W) content in [0, 1] (sides multiples of :attr:`multiple`, at least :attr:`min_content`)
        rendered with ``code`` at style strength ``alpha`` (0: the content), with the ``mask`` ((1, 1, H, W) in
        [0, 1], for models that place styles by it) and in tiles of ``tile`` px (None: whole)."""
