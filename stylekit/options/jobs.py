"""Options of the jobs over many frames or inputs: a video (fast or transfer per frame) and a batch on Ray."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .choices import (BATCH_CHUNK_OVERLAP, DEFAULT_TEMPORAL, FLOW_METHODS, STEPS_MAX, VIDEO_METHODS, VIDEO_MODEL,
                      WEIGHT_MAX)
from .common import DeviceOptions, _color_image, _masks, _preserve_color
from .feedforward import FastOptions
from .optimising import TransferOptions
from .schema import SEED_MAX, FieldNamer, LiveChoices, OptionError, option


def _temporal_weight(group: str) -> Any:
    return option(None, "temporal consistency; 0: independent frames. fast: share of the flow-warped previous frame "
                  f"blended in, 0-1 (default {DEFAULT_TEMPORAL['fast']}); optimisation (transfer): weight of the "
                  f"temporal loss (default {DEFAULT_TEMPORAL['transfer']:g})", "float", low=0, high=WEIGHT_MAX,
                  optional=True, group=group)


def _flow(group: str) -> Any:
    return option("dis", "optical flow (OpenCV)", "choice", choices=FLOW_METHODS, group=group)


def _flow_scale(group: str) -> Any:
    return option(1.0, "size the optical flow is computed at, as a share of the frame's (0.5: half the width and "
                  "height, about a third of the time, docs/benchmarks.md)", "float", above=0, high=1, group=group)


def _frame_steps(group: str) -> Any:
    return option(20, "optimisation (transfer): steps for each later frame (starting from the warped previous one)",
                  "int", low=1, high=STEPS_MAX, group=group)


@dataclass
class VideoOptions(DeviceOptions):
    """Settings of a video job: the method's own options are embedded (``fast``, ``transfer``); the video decides
    frame size, colour, seed and device for both."""

    method: str = option("fast", "fast: feed-forward model per frame; transfer: optimisation per frame (slow)",
                         "choice", choices=VIDEO_METHODS, group="method")
    temporal_weight: float | None = _temporal_weight("method")
    flow: str = _flow("method")
    flow_scale: float = _flow_scale("method")
    size: int | tuple[int, int] | None = option(None, "long side of the output frames (default: the input's for "
                                                "fast, 384 for transfer)", "size", low=16, high=8192, optional=True,
                                                group="method")
    max_frames: int | None = option(None, "stop after this many frames", "int", low=1, high=10_000_000, optional=True,
                                    group="method")
    preserve_color: str = _preserve_color()
    color_image: Any = _color_image()
    masks: Sequence[Any] | None = _masks()
    fast: FastOptions = option(lambda: FastOptions(model=VIDEO_MODEL, precision="auto"),  # bf16 where native: 1.4x
                               "the fast method's model", "nested",  # the frames, the same flicker (benchmarks.md)
                               expose=("model", "alpha", "style_size", "weights_dir", "models_dir", "precision",
                                       "builtin", "stroke_scale"))
    transfer: TransferOptions = option(lambda: TransferOptions(steps=(40, 20)), "the transfer method's optimisation",
                                    "nested", expose=("steps", "style_weight", "content_weight", "style_loss"))
    frame_steps: int = _frame_steps("transfer method")
    train: int = option(0, "fast method: first train a model for the style on this many steps of the clip's own "
                        "frames (stylekit train's recipe, started from Magenta's network) and paint the video with "
                        "it; kept with the finished frames, so an interrupted job resumes its training; 0: off",
                        "int", low=0, high=STEPS_MAX, group="method")
    seed: int | None = option(None, "random seed", "int", low=0, high=SEED_MAX, optional=True, group="output")

    @property
    def temporal(self) -> float:
        """The temporal weight, with the method's default filled in."""
        return DEFAULT_TEMPORAL[self.method] if self.temporal_weight is None else float(self.temporal_weight)

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks."""
        if self.train and (self.method != "fast" or self.fast.builtin is not None or self.fast.trained is not None):
            raise OptionError(f"{name('train')} trains a fast model for the style images: it needs the fast method "
                              f"and style images (no {name('builtin')}, no trained {name('model')})")
        if self.method == "fast" and self.temporal > 1:
            raise OptionError(f"{name('temporal_weight')} must be between 0 and 1 for the fast method, "
                              f"got {self.temporal}")


def _batch_methods() -> list[str]:
    """The registry's batch methods, read when asked (the registry imports these classes)."""
    from .registry import batch_methods

    return list(batch_methods())


@dataclass
class BatchOptions:
    """A batch job: the method, where it runs (a Ray started on this machine, or a Ray cluster), and how a video
    input is cut into chunks of frames processed in parallel."""

    method: str = option("fast", "fast: a feed-forward model per image (--model ...); transfer: a Gatys "
                         "optimisation per image (slow; 'stylekit batch --method transfer --help' lists its options)",
                         "choice", choices=LiveChoices(_batch_methods), group="method")
    address: str | None = option(None, "an existing Ray cluster to run on, e.g. ray://head:10001 (default: "
                                 "$RAY_ADDRESS, else a Ray started on this machine for the job)", "text",
                                 optional=True, group="cluster")
    workers: int | None = option(None, "workers at once, each with the model loaded once (default: as many as the "
                                 "CPUs, GPUs and memory allow)", "int", low=1, high=100_000, optional=True,
                                 group="cluster")
    cpus_per_worker: int | None = option(None, "CPU cores (torch threads) per worker (default: on this machine its "
                                         "cores shared among the workers; on a cluster 1)", "int", low=1, high=1024,
                                         optional=True, group="cluster")
    gpus_per_worker: float = option(0.0, "GPUs per worker (a fraction shares a GPU); with it the workers run on "
                                    "cuda", "float", low=0, high=64, group="cluster")
    temporal_weight: float | None = _temporal_weight("video")
    flow: str = _flow("video")
    flow_scale: float = _flow_scale("video")
    frame_steps: int = _frame_steps("video")
    chunk_frames: int | None = option(None, "video: frames per chunk a worker stylises (default: the video split "
                                      "evenly, about four chunks per worker)", "int", low=1, high=1_000_000,
                                      optional=True, group="video")
    overlap: int = option(BATCH_CHUNK_OVERLAP, "video: frames a chunk runs before its first one (and drops), so the "
                          "temporal consistency carries across chunk boundaries", "int", low=0, high=1000,
                          group="video")

    def check(self, name: FieldNamer) -> None:
        """Cross-field checks."""
        if self.method == "fast" and self.temporal_weight is not None and self.temporal_weight > 1:
            raise OptionError(f"{name('temporal_weight')} must be between 0 and 1 for the fast method, "
                              f"got {self.temporal_weight:g}")
