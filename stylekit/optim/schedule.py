"""Coarse-to-fine schedules: which sizes an optimisation visits and how many steps each gets."""
from __future__ import annotations

import math
from collections.abc import Sequence

from ..io.geometry import MIN_SIDE, fit_long_side
from .loop import Scale


def schedule(content_hw: tuple[int, int], size: int, min_size: int | None,
             steps: Sequence[int] | int) -> list[Scale]:
    """Coarse-to-fine scales from ``min_size`` to ``size`` (long side), each about √2 larger than the last; the
    coarsest scale starts no smaller than keeps every side at least :data:`MIN_SIDE` pixels."""
    if min_size is not None:
        min_size = max(min_size, math.ceil(MIN_SIDE * max(content_hw) / min(content_hw)))
    if min_size is None or min_size >= size:
        longs = [size]
    else:
        count = max(2, math.ceil(math.log(size / min_size, math.sqrt(2)) - 1e-9) + 1)
        longs = [round(min_size * (size / min_size) ** (i / (count - 1))) for i in range(count)]
    per_scale = [steps] * len(longs) if isinstance(steps, int) else list(steps)
    if len(per_scale) < len(longs):  # short lists repeat their last entry at the fine scales
        per_scale += [per_scale[-1]] * (len(longs) - len(per_scale))
    elif len(per_scale) > len(longs):  # long lists keep the coarse counts and end at the finest
        per_scale = per_scale[: len(longs) - 1] + [per_scale[-1]]
    return [Scale(fit_long_side(*content_hw, s), n) for s, n in zip(longs, per_scale)]
