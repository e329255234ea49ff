"""Coarse-to-fine schedules: which sizes an optimisation visits and how many steps each gets."""
from __future__ import annotations

import math
from collections.abc import Sequence

from ..io.geometry import MIN_SIDE, fit_long_side
from .loop import Scale

RATIO = math.sqrt(2)  # the most one scale's long side grows over the last


def schedule(content_hw: tuple[int, int], size: int, min_size: int | None,
             steps: Sequence[int] | int) -> list[Scale]:
    """Coarse-to-fine scales ending at ``size`` (long side), with ``steps`` counted from the coarsest scale up.

    ``steps[i]`` is the i-th scale's, the coarsest first; fine scales beyond the list repeat its last entry, and
    one number is every scale's. The scales grow by at most √2 from ``min_size`` to ``size``; when that gives
    fewer scales than ``steps`` has entries (a small output), the pyramid starts below ``min_size`` instead, √2
    apart, so a 256-px run visits 128, 181 and 256 with every entry's steps. The coarsest scale keeps every side
    at least :data:`MIN_SIDE` pixels; when that leaves fewer scales, the list's first entries are used.
    ``min_size`` None: one scale at ``size`` with the first entry's steps.
    """
    per_scale = [steps] if isinstance(steps, int) else list(steps)
    smallest = math.ceil(MIN_SIDE * max(content_hw) / min(content_hw))  # the long side at which the short is 16
    if min_size is None or size <= smallest:
        longs = [size]
    else:
        start = max(min(min_size, size), smallest)
        count = 1 if start >= size else max(2, math.ceil(math.log(size / start, RATIO) - 1e-9) + 1)
        if count < len(per_scale):  # a small output: start below min_size, one entry per scale
            count = min(len(per_scale), 1 + math.floor(math.log(size / smallest, RATIO) + 1e-9))
            start = size / RATIO ** (count - 1)
        longs = [size] if count == 1 else [round(start * (size / start) ** (i / (count - 1)))
                                           for i in range(count)]
    counts = [per_scale[min(i, len(per_scale) - 1)] for i in range(len(longs))]
    return [Scale(fit_long_side(*content_hw, s), n) for s, n in zip(longs, counts)]


def tileable_scales(scales: Sequence[Scale], multiple: int) -> list[Scale]:
    """A schedule for a tileable image: every scale but the last (the size asked for) brought to the nearest
    multiple of ``multiple`` (the network's largest stride), so its poolings tile a torus exactly."""
    def rounded(side: int) -> int:
        return max(multiple, round(side / multiple) * multiple)

    return [scale if i == len(scales) - 1 else Scale((rounded(scale.size[0]), rounded(scale.size[1])), scale.steps)
            for i, scale in enumerate(scales)]
