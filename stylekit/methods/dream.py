"""DeepDream (Mordvintsev, Olah & Tyka, 2015): gradient ascent on a layer's activations, with octaves,
random jitter and normalised steps; optionally guided by another image; zoom loops."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import StylekitError
from ..io import ImageLike, load_image
from ..objectives import ActivationLoss, GuidedActivationLoss, Objective
from ..optim import Callback, Scale, optimize, resize
from .common import RunOptions, fit_long_side, make_options, objective_loss, prepare_backbone, seeded_generator
from .result import MethodResult, Output


@dataclass
class DreamOptions(RunOptions):
    """Settings of a DeepDream run."""

    layer: str = "relu4_2"
    channels: Sequence[int] | None = None  # ascend only these channels of the layer
    size: int = 512  # long side of the output
    octaves: int = 4
    octave_scale: float = 1.4
    steps: int = 10  # per octave
    lr: float = 0.01  # normalised step: pixels move by about this much per step
    jitter: int = 32  # random roll, pixels, before each step
    guide: ImageLike | None = None


def _check(opts: DreamOptions, net_channels: int) -> None:
    if opts.octaves < 1 or opts.steps < 1:
        raise StylekitError("octaves and steps must be at least 1")
    if opts.octave_scale < 1:
        raise StylekitError(f"octave-scale must be >= 1, got {opts.octave_scale}")
    if opts.lr <= 0 or opts.jitter < 0:
        raise StylekitError("lr must be > 0 and jitter >= 0")
    bad = [c for c in opts.channels or () if not 0 <= c < net_channels]
    if bad:
        raise StylekitError(f"channel {bad[0]} is out of range for {opts.layer}, which has {net_channels} channels "
                            f"(0-{net_channels - 1})")


def _jitter(amount: int, generator: torch.Generator) -> Callable[[torch.Tensor], torch.Tensor]:
    def roll(image: torch.Tensor) -> torch.Tensor:
        if amount == 0:
            return image
        dy, dx = torch.randint(-amount, amount + 1, (2,), generator=generator).tolist()
        return image.roll((dy, dx), dims=(-2, -1))
    return roll


def run_dream(image: ImageLike, options: DreamOptions | None = None,
              callbacks: Sequence[Callback] = ()) -> MethodResult:
    """Dream on ``image``: octaves from small to ``size``, each a few normalised ascent steps."""
    opts = options or DreamOptions()
    net, device = prepare_backbone(opts.backbone, opts.pooling, opts.weights, [opts.layer], opts.device)
    _check(opts, net.channels(opts.layer))
    src = load_image(image, "image")
    hw = fit_long_side(*src.rgb.shape[-2:], opts.size)
    objective: Objective = ActivationLoss(opts.layer, list(opts.channels) if opts.channels else None)
    if opts.guide is not None:
        guide = load_image(opts.guide, "guide").rgb.to(device)
        with torch.no_grad():
            feats = net(resize(guide, fit_long_side(*guide.shape[-2:], min(opts.size, 512))), [opts.layer])
        objective = GuidedActivationLoss(opts.layer, feats[opts.layer][0])
    plan = []
    for octave in range(opts.octaves - 1, -1, -1):
        long_side = max(16, round(max(hw) / opts.octave_scale ** octave))
        plan.append(Scale(fit_long_side(*hw, long_side), opts.steps))
    transform = _jitter(opts.jitter, seeded_generator(opts.seed))
    base = src.rgb.to(device)

    def carry(previous: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        # The classic octave scheme: the source at this size plus the detail dreamed so far, upsampled.
        detail = previous - resize(base, tuple(previous.shape[-2:]))
        return (resize(base, size) + resize_detail(detail, size)).clamp(0, 1)

    result = optimize(base, lambda size: objective_loss(net, objective, transform), plan, "normalized", opts.lr,
                      callbacks, carry)
    return MethodResult.from_optim(result, hw)


def resize_detail(detail: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a signed detail image (no clamping)."""
    return torch.nn.functional.interpolate(detail, size=size, mode="bilinear", align_corners=False)


def zoom_in(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Crop the centre 1/factor of ``image`` and scale it back to full size."""
    h, w = image.shape[-2:]
    ch, cw = max(1, round(h / factor)), max(1, round(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    return resize(image[..., top:top + ch, left:left + cw], (h, w))


def dream_zoom(image: ImageLike, frames: int, zoom: float = 1.05, frame_steps: int = 5,
               options: DreamOptions | None = None, callbacks: Sequence[Callback] = (),
               on_frame: Callable[[int, MethodResult], None] | None = None) -> list[MethodResult]:
    """A zoom-in loop: frame 0 is a full dream; each later frame dreams (one octave, ``frame_steps`` steps) on
    the previous frame zoomed in by ``zoom``. Stops early, keeping the frames made, on Ctrl-C."""
    opts = options or DreamOptions()
    if frames < 1 or zoom < 1:
        raise StylekitError("zoom-frames must be >= 1 and zoom >= 1")
    out = [run_dream(image, opts, callbacks)]
    follow = DreamOptions(**{**vars(opts), "octaves": 1, "steps": frame_steps})
    if on_frame:
        on_frame(0, out[0])
    for i in range(1, frames):
        if out[-1].interrupted:
            break
        previous = load_image(out[-1].image).rgb
        if follow.seed is not None:
            follow.seed = opts.seed + i
        out.append(run_dream(zoom_in(previous, zoom), follow, callbacks))
        if on_frame:
            on_frame(i, out[-1])
    return out


def dream(image: ImageLike, *, callbacks: Sequence[Callback] = (),
          return_history: bool = False, **options: Any) -> Output:
    """DeepDream on ``image``.

    Keyword options are the fields of :class:`DreamOptions`; returns a PIL image, or ``(image, history)`` with
    ``return_history=True``.
    """
    result = run_dream(image, make_options(DreamOptions, options), callbacks)
    return (result.image, result.history) if return_history else result.image
