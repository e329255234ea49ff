"""A toy method for the registry test: the negative of a picture, mixed with the picture by ``strength``."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from stylekit.methods.result import MethodResult
from stylekit.options import DeviceOptions, option


@dataclass
class NegateOptions(DeviceOptions):
    """How much of the negative."""

    strength: float = option(1.0, "how much of the negative (0: the picture, 1: its negative)", "float", low=0,
                             high=1, group="negative", web="model")


def job(content: Any, styles: Sequence[Any], options: NegateOptions, callbacks: Sequence[Any] = ()) -> MethodResult:
    """The negative of ``content``."""
    image = np.asarray((content if isinstance(content, Image.Image) else Image.open(content)).convert("RGB"), float)
    return MethodResult(Image.fromarray(np.uint8(np.round(image + options.strength * (255 - 2 * image)))))


def work(options: NegateOptions, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    h, w = content_hw or (512, 512)
    return h * w / 1e6


def worker_peak(options: NegateOptions, hw: tuple[int, int], styles: Sequence[tuple[int, int]] = ()) -> int:
    return 16 * hw[0] * hw[1]


def negate(content: Any, **options: Any) -> Image.Image:
    """The negative of ``content``."""
    return job(content, [], NegateOptions(**options)).image
