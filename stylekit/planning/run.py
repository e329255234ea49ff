"""One run plan: the output size and the coarse-to-fine scales a run's options give, computed once and read by
the method, its memory pre-flight, the web page's estimate, batch workers and video."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..io.geometry import target_hw
from ..optim import Scale, schedule
from ..optim.schedule import tileable_scales

TILE_STRIDE = 16  # the backbones' largest stride (VGG's and scratch's relu5_1): tileable scales are multiples


@dataclass(frozen=True)
class RunPlan:
    """What an optimising run visits: ``output`` (h, w) and its ``scales``, the coarsest first."""

    output: tuple[int, int]
    scales: tuple[Scale, ...]

    @property
    def steps(self) -> int:
        """Optimisation steps over every scale."""
        return sum(s.steps for s in self.scales)

    @property
    def work(self) -> float:
        """Megapixel-steps: each scale's steps times its size in megapixels (what a run's time grows with)."""
        return sum(s.steps * s.size[0] * s.size[1] for s in self.scales) / 1e6

    def effort(self, setup: float = 0.0, growth: float = 0.0) -> float:
        """:attr:`work` as time grows with it: each scale also pays ``setup`` steps (its targets and its first
        evaluation), and a step's cost per megapixel grows by ``growth`` per megapixel of its scale (a large scale
        no longer fits the caches)."""
        total = 0.0
        for s in self.scales:
            mp = s.size[0] * s.size[1] / 1e6
            total += (s.steps + setup) * mp * (1 + growth * mp)
        return total


def scales_for(output: tuple[int, int], min_size: int | None, steps: Sequence[int] | int) -> list[Scale]:
    """The coarse-to-fine scales ending at ``output`` (h, w): see :func:`stylekit.optim.schedule`."""
    return schedule(output, max(output), min_size, steps)


def output_size(size: int | tuple[int, int] | None, content_hw: tuple[int, int] | None) -> tuple[int, int]:
    """The (h, w) a run with a ``size`` option makes: of a content of ``content_hw``, ``size`` is its long side
    (or (h, w) exactly); with no content (a texture, a visualisation), an int is a square."""
    if content_hw is not None:
        return target_hw(*content_hw, size)
    if size is None:
        raise ValueError("a run without a content image needs a size")
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


ESTIMATE_CONTENT = (512, 512)  # the content an estimate assumes before a photo is chosen


def megapixels(size: int | tuple[int, int] | None, content_hw: tuple[int, int] | None) -> float:
    """Megapixels of a one-pass run's output of ``size`` on a content of ``content_hw`` (None: the square an
    estimate assumes before a photo is chosen)."""
    h, w = target_hw(*(content_hw or ESTIMATE_CONTENT), size)
    return h * w / 1e6


def run_plan(options: Any, content_hw: tuple[int, int] | None = None) -> RunPlan:
    """The plan of a run with schedule ``options`` (``size``, ``min_size``, ``quality``/``steps``) on a content of
    ``content_hw`` (None: a run without one, such as a texture)."""
    output = output_size(options.size, content_hw)
    scales = scales_for(output, options.min_size, options.per_scale())
    if getattr(options, "tileable", False):  # coarse scales the poolings tile exactly
        scales = tileable_scales(scales, TILE_STRIDE)
    return RunPlan(output, tuple(scales))
