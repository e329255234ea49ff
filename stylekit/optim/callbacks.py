"""Progress reporting and control for the optimisation loop: the core never prints, it calls these."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


class StopScale(Exception):
    """Raised by a callback to end the current scale early (the loop moves on to the next scale)."""


class StopRun(Exception):
    """Raised by a callback to end the whole run, as Ctrl-C does: the best image so far is returned."""


@dataclass
class Progress:
    """What the loop reports after every loss evaluation."""

    step: int  # 1-based over the whole run
    total_steps: int
    scale: int  # 0-based index of the current scale
    num_scales: int
    size: tuple[int, int]  # (height, width) being optimised
    loss: float
    terms: dict[str, float]
    elapsed: float  # seconds since the run started
    image: torch.Tensor = field(repr=False)  # the image the loss was computed on; clone it to keep it


@dataclass
class ItemProgress:
    """What a loop over items (zoom frames, video frames, batch images, layers of a sweep) reports after each."""

    done: int  # items finished so far, 1-based
    total: int  # items in all; 0 when unknown (a video container that does not say)
    item: str = ""  # what was just finished: a file name, a layer, a frame number
    result: Any = field(default=None, repr=False)  # that item's result, where the loop has one


class Callback:
    """Base class; override what you need. Optimisations call ``on_scale_start`` and ``on_step``; loops over
    items (frames, images, layers) call ``on_item`` after each."""

    def on_scale_start(self, scale: int, size: tuple[int, int], steps: int) -> None:
        """Called before each scale of a coarse-to-fine schedule."""

    def on_step(self, progress: Progress) -> None:
        """Called after every loss evaluation; may raise :class:`StopScale` or :class:`StopRun`."""

    def on_item(self, progress: ItemProgress) -> None:
        """Called after each item of a loop over items; may raise :class:`StopRun`."""

    def on_stage(self, stage: str) -> None:
        """Called when a run starts a long stage that is not a step ("loading the model")."""


class FunctionCallback(Callback):
    """Wrap a plain ``fn(progress)``."""

    def __init__(self, fn: Callable[[Progress], None]) -> None:
        self.fn = fn

    def on_step(self, progress: Progress) -> None:
        self.fn(progress)


class KeepBest(Callback):
    """Keep the lowest-loss image of the current scale (losses of different scales do not compare)."""

    def __init__(self) -> None:
        self.loss = math.inf
        self.image: torch.Tensor | None = None

    def on_scale_start(self, scale: int, size: tuple[int, int], steps: int) -> None:
        self.loss = math.inf

    def on_step(self, progress: Progress) -> None:
        if progress.loss < self.loss:
            self.loss = progress.loss
            self.image = progress.image.detach().clone()


class EarlyStopping(Callback):
    """End a scale when the loss has improved by less than ``min_delta`` (relative) over ``patience`` steps."""

    def __init__(self, patience: int = 20, min_delta: float = 1e-3) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.window: list[float] = []

    def on_scale_start(self, scale: int, size: tuple[int, int], steps: int) -> None:
        self.window = []

    def on_step(self, progress: Progress) -> None:
        self.window.append(progress.loss)
        if len(self.window) > self.patience:
            old = self.window.pop(0)
            best_now = min(self.window)
            if old - best_now < self.min_delta * abs(old):
                raise StopScale


class SaveEvery(Callback):
    """Write the current image every ``every`` steps to ``pattern``: ``{step}`` is replaced by the step and, in a
    loop over items, ``{item}`` by the name in ``items`` of the item being worked on; with ``final`` False, not at
    the run's last step."""

    def __init__(self, every: int, pattern: str | Path, save: Callable[[torch.Tensor, Path], None],
                 items: Sequence[str] = (), final: bool = True) -> None:
        self.every, self.pattern, self.save, self.items = every, str(pattern), save, list(items)
        self.final = final  # the last step too (neural-style writes that one only as the output)
        self.written: list[Path] = []
        self.item = 0

    def on_step(self, progress: Progress) -> None:
        if progress.step % self.every == 0 and (self.final or progress.step < progress.total_steps):
            name = self.items[min(self.item, len(self.items) - 1)] if self.items else ""
            path = Path(self.pattern.format(step=progress.step, item=name))
            self.save(progress.image.detach(), path)
            self.written.append(path)

    def on_item(self, progress: ItemProgress) -> None:
        self.item = progress.done
