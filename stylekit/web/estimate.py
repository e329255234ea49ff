"""How long a job will take on this server: its work (megapixel-steps of network passes) times a rate per method.

The rates start from ones measured on the 2-core machine stylekit was built on (see ``benchmarks/estimates.py``),
scaled by a short convolution probe of this machine, and then follow the jobs that finish here, per method and
network (a scratch-network job says nothing about VGG19's speed), so estimates become this machine's own. The
first job of each kind also loads its network and is not learnt from.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Any

from ..io.geometry import MIN_SIDE, fit_long_side, target_hw
from ..options import (DeconvOptions, DreamOptions, FastOptions, FeaturesOptions, InvertOptions, ScheduleOptions,
                       TextureOptions, TopImagesOptions, VisualizeOptions)
from ..planning import run_plan

# Seconds per megapixel-step and fixed seconds per job, measured by benchmarks/estimates.py on the reference
# machine (AMD EPYC, 2 cores, bf16 VGG19 passes for the optimisers), and that machine's probe time.
RATES = {"transfer": 2.9, "texture": 2.6, "dream": 2.5, "invert": 3.2, "fast": 0.6, "features": 1.0,
         "deconv": 1.5, "top-images": 2.0, "visualize": 2.2}
FIXED = {"transfer": 2.0, "texture": 1.5, "dream": 0.3, "invert": 0.0, "fast": 0.3, "features": 1.8,
         "deconv": 0.9, "top-images": 3.0, "visualize": 0.5}
PROBE_REFERENCE = 0.005
LEARN = 0.5  # weight of each finished job's own rate against what was known before


def work(method: str, options: Any, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    """Megapixel-steps a job of ``method`` with ``options`` on a content of ``content_hw`` (h, w) takes (for
    top activations: over ``images`` images, each one pass)."""
    hw = content_hw or (512, 512)
    if isinstance(options, VisualizeOptions):
        h, w = options.hw
        return options.steps * len(options.picked()) * options.diversity * h * w / 1e6
    if isinstance(options, TopImagesOptions):
        return images * _area(target_hw(*hw, options.size))
    if isinstance(options, DeconvOptions):
        return _area(target_hw(*hw, options.size))
    if isinstance(options, ScheduleOptions):  # a texture has no content: its size is the output's
        return run_plan(options, None if isinstance(options, TextureOptions) else hw).work
    if isinstance(options, DreamOptions):
        out = target_hw(*hw, options.size)
        total = 0.0
        for octave in range(options.octaves):
            long = max(math.ceil(MIN_SIDE * max(out) / min(out)), round(max(out) / options.octave_scale ** octave))
            total += options.steps * _area(fit_long_side(*out, long))
        return total
    if isinstance(options, InvertOptions):
        return options.steps * _area(target_hw(*hw, options.size))
    if isinstance(options, (FastOptions, FeaturesOptions)):
        size = options.content_size if isinstance(options, FastOptions) else options.size
        return _area(target_hw(*hw, size))
    return 0.0


def _area(hw: tuple[int, int]) -> float:
    return hw[0] * hw[1] / 1e6


def probe() -> float:
    """Seconds this machine takes for a fixed small convolution (the best of a few runs)."""
    import torch

    x = torch.rand(1, 64, 128, 128)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1)
    best = math.inf
    with torch.no_grad():
        conv(x)  # warm up (thread pool, allocator)
        for _ in range(10):
            start = time.perf_counter()
            conv(x)
            best = min(best, time.perf_counter() - start)
    return best


class Estimator:
    """Estimated seconds per job on this machine, learning from the jobs that finish."""

    def __init__(self, speed: float = 1.0) -> None:
        """``speed``: how many times slower than the reference machine this one is (1: the same)."""
        self.speed = speed
        self.rates: dict[tuple[str, str], float] = {}  # learnt, by (method, network)
        self.warm: set[tuple[str, str]] = set()  # kinds of job seen once (their network loaded)
        self.lock = threading.Lock()

    @classmethod
    def for_this_machine(cls) -> Estimator:
        """An estimator scaled by :func:`probe` (bounded, so a noisy probe cannot make it absurd)."""
        return cls(min(20.0, max(0.05, probe() / PROBE_REFERENCE)))

    def _rate(self, method: str, network: str) -> float:
        return self.rates.get((method, network), RATES.get(method, 1.0) * self.speed)

    def seconds(self, method: str, amount: float, network: str = "") -> float:
        """Estimated seconds of a job of ``method`` on ``network`` (a backbone or model) that does ``amount``
        megapixel-steps."""
        with self.lock:
            return FIXED.get(method, 1.0) + self._rate(method, network) * amount

    def observe(self, method: str, amount: float, seconds: float, network: str = "") -> None:
        """Learn from a job that finished its work in ``seconds`` (not from the first of its kind)."""
        key = (method, network)
        with self.lock:
            if key not in self.warm:
                self.warm.add(key)
                return
            if amount <= 0 or method not in RATES:
                return
            rate = self._rate(method, network)
            seen = max(seconds - FIXED[method], 0.0) / amount
            seen = min(max(seen, rate / 10), rate * 10)  # one odd job moves the estimate, never wildly
            self.rates[key] = (1 - LEARN) * rate + LEARN * seen


def say_seconds(seconds: float) -> str:
    """A duration as a person says it: "under a second", "about 20 s", "about 3 min"."""
    if seconds < 1:
        return "under a second"
    if seconds < 60:
        return f"about {max(1, round(seconds / (5 if seconds > 15 else 1)) * (5 if seconds > 15 else 1))} s"
    minutes = seconds / 60
    return f"about {round(minutes)} min" if minutes < 90 else f"about {minutes / 60:.1f} h"
