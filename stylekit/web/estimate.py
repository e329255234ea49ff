"""How long a job will take on this server: its work (megapixel-steps of network passes) times a rate per method.

The rates start from each method's in :mod:`stylekit.options.registry`, measured on the 2-core machine stylekit
was built on (see ``benchmarks/estimates.py``),
scaled by a short convolution probe of this machine, and then follow the jobs that finish here, per method and
network (a scratch-network job says nothing about VGG19's speed), so estimates become this machine's own. The
first job of each kind also loads its network and is not learnt from.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Any

from ..options.registry import METHODS

PROBE_REFERENCE = 0.005  # the reference machine's probe time (AMD EPYC, 2 cores)
LEARN = 0.5  # weight of each finished job's own rate against what was known before


def work(method: str, options: Any, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    """Megapixel-steps a job of ``method`` with ``options`` on a content of ``content_hw`` (h, w) takes (for
    top activations: over ``images`` images, each one pass): the method's own ``work``."""
    spec = METHODS[method]
    return spec.code(spec.work)(options, content_hw, images)


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
        known = METHODS.get(method)
        return self.rates.get((method, network), (known.rate if known else 1.0) * self.speed)

    def seconds(self, method: str, amount: float, network: str = "") -> float:
        """Estimated seconds of a job of ``method`` on ``network`` (a backbone or model) that does ``amount``
        megapixel-steps."""
        with self.lock:
            known = METHODS.get(method)
            return (known.fixed if known else 1.0) + self._rate(method, network) * amount

    def observe(self, method: str, amount: float, seconds: float, network: str = "") -> None:
        """Learn from a job that finished its work in ``seconds`` (not from the first of its kind)."""
        key = (method, network)
        with self.lock:
            if key not in self.warm:
                self.warm.add(key)
                return
            known = METHODS.get(method)
            if amount <= 0 or known is None:
                return
            rate = self._rate(method, network)
            seen = max(seconds - known.fixed, 0.0) / amount
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
