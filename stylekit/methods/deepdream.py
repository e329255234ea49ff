"""DeepDream (Mordvintsev, Olah & Tyka, 2015): gradient ascent on a layer's activations, with octaves,
random jitter and normalised steps; optionally guided by another image; zoom loops."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image

from ..backbones import FeatureExtractor
from ..errors import StylekitError
from ..io import MIN_SIDE, ImageLike, checked_hw, fit_long_side, load_image, resize
from ..objectives import ActivationLoss, GuidedActivationLoss, Objective
from ..planning import ESTIMATE_CONTENT, output_size, preflight
from ..optim import Callback, Scale, optimize
from ..options import DreamOptions, ZoomOptions, keyword_options, make_options, validate
from .common import check_channels, objective_loss, run_context, run_items
from .result import MethodResult, Output


def _jitter(amount: int, generator: torch.Generator) -> Callable[[torch.Tensor], torch.Tensor]:
    def roll(image: torch.Tensor) -> torch.Tensor:
        if amount == 0:
            return image
        dy, dx = torch.randint(-amount, amount + 1, (2,), generator=generator).tolist()
        return image.roll((dy, dx), dims=(-2, -1))
    return roll


def run_dream(image: ImageLike, options: DreamOptions | None = None, callbacks: Sequence[Callback] = (),
              backbone: FeatureExtractor | None = None) -> MethodResult:
    """Dream on ``image``: octaves from small to ``size``, each a few normalised ascent steps."""
    opts = validate(options or DreamOptions())
    ctx = run_context(opts, [opts.layer], backbone)
    net, device = ctx.backbone, ctx.device
    check_channels(net, opts.layer, opts.channels)
    src = load_image(image, "image")
    hw = checked_hw(*src.rgb.shape[-2:], opts.size, "the image")
    preflight(net, device, [opts.layer], [Scale(hw, opts.steps)], optimizer="normalized")  # the last octave
    objective: Objective = ActivationLoss(opts.layer, list(opts.channels) if opts.channels else None)
    if opts.guide is not None:
        guide = load_image(opts.guide, "guide").rgb.to(device)
        with torch.no_grad():
            feats = net(resize(guide, fit_long_side(*guide.shape[-2:], min(max(hw), 512))), [opts.layer])
        objective = GuidedActivationLoss(opts.layer, feats[opts.layer][0])
    plan = octaves(hw, opts)
    transform = _jitter(opts.jitter, ctx.generator)
    base = src.rgb.to(device)

    def carry(previous: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        # The classic octave scheme: the source at this size plus the detail dreamed so far, upsampled.
        detail = previous - resize(base, tuple(previous.shape[-2:]))
        return (resize(base, size) + resize_detail(detail, size)).clamp(0, 1)

    result = optimize(base, lambda size: objective_loss(net, objective, transform), plan, "normalized", opts.lr,
                      callbacks, carry)
    return MethodResult.from_optim(result, hw)


def octaves(hw: tuple[int, int], opts: DreamOptions) -> list[Scale]:
    """The octaves a dream of final size ``hw`` visits, smallest first, each with ``opts.steps`` steps."""
    plan = []
    for octave in range(opts.octaves - 1, -1, -1):
        long_side = max(math.ceil(MIN_SIDE * max(hw) / min(hw)), round(max(hw) / opts.octave_scale ** octave))
        plan.append(Scale(fit_long_side(*hw, long_side), opts.steps))
    return plan


def resize_detail(detail: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a signed detail image (no clamping)."""
    return torch.nn.functional.interpolate(detail, size=size, mode="bilinear", align_corners=False)


def zoom_in(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Crop the centre 1/factor of ``image`` and scale it back to full size."""
    h, w = image.shape[-2:]
    ch, cw = max(1, round(h / factor)), max(1, round(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    return resize(image[..., top:top + ch, left:left + cw], (h, w))


def run_dream_zoom(image: ImageLike, zoom: ZoomOptions | None = None, options: DreamOptions | None = None,
                   callbacks: Sequence[Callback] = ()) -> list[MethodResult]:
    """A zoom-in loop of ``zoom.zoom_frames`` frames: frame 0 is a full dream; each later frame dreams (one
    octave, ``zoom.frame_steps`` steps) on the previous frame zoomed in by ``zoom.zoom``. One backbone serves
    every frame; callbacks hear ``on_item`` after each. On Ctrl-C it stops, keeping the frames made."""
    loop = validate(zoom or ZoomOptions(zoom_frames=10))
    opts = validate(options or DreamOptions())
    if loop.zoom_frames < 1:
        raise StylekitError("zoom_frames must be at least 1")
    net = run_context(opts, [opts.layer]).backbone

    def frame(i: int, done: list[MethodResult]) -> MethodResult:
        if i == 0:
            return run_dream(image, opts, callbacks, net)
        follow = dataclasses.replace(opts, octaves=1, steps=loop.frame_steps,
                                     seed=None if opts.seed is None else opts.seed + i)
        return run_dream(zoom_in(load_image(done[-1].image).rgb, loop.zoom), follow, callbacks, net)

    return run_items([f"frame {i}" for i in range(loop.zoom_frames)], frame, callbacks)


@keyword_options(DreamOptions)
def dream(image: ImageLike, *, callbacks: Sequence[Callback] = (),
          return_history: bool = False, **options: Any) -> Output:
    """DeepDream on ``image``.

    Keyword options are the fields of :class:`DreamOptions`; returns a PIL image, or ``(image, history)`` with
    ``return_history=True``.

    Examples:
        >>> import stylekit
        >>> from PIL import Image
        >>> photo = Image.new("RGB", (64, 48), "steelblue")
        >>> stylekit.dream(photo, layer="relu3_1", size=32, octaves=1, steps=2, backbone="scratch").size
        (32, 24)
    """
    result = run_dream(image, make_options(DreamOptions, options), callbacks)
    return (result.image, result.history) if return_history else result.image


@keyword_options(DreamOptions)
def dream_zoom(image: ImageLike, zoom_frames: int = 10, *, zoom: float = 1.05, frame_steps: int = 5,
               callbacks: Sequence[Callback] = (), **options: Any) -> list[Image.Image]:
    """A DeepDream zoom-in loop of ``zoom_frames`` frames (see :func:`run_dream_zoom`); keyword options are the
    fields of :class:`DreamOptions`. Returns the frames as PIL images.

    Examples:
        >>> import stylekit
        >>> from PIL import Image
        >>> photo = Image.new("RGB", (64, 48), "steelblue")
        >>> frames = stylekit.dream_zoom(photo, 3, frame_steps=1, size=32, octaves=1, steps=1, backbone="scratch")
        >>> [frame.size for frame in frames]
        [(32, 24), (32, 24), (32, 24)]
    """
    loop = make_options(ZoomOptions, {"zoom_frames": zoom_frames, "zoom": zoom, "frame_steps": frame_steps})
    return [f.image for f in run_dream_zoom(image, loop, make_options(DreamOptions, options), callbacks)]


def job(content: ImageLike, styles: Sequence[ImageLike], options: DreamOptions,
        callbacks: Sequence[Callback] = ()) -> MethodResult:
    """One dream on ``content``, as every face runs it."""
    return run_dream(content, options, callbacks)


def work(options: DreamOptions, content_hw: tuple[int, int] | None, images: int = 1) -> float:
    """Megapixel-steps of a dream: every octave's steps at its size."""
    hw = output_size(options.size, content_hw or ESTIMATE_CONTENT)
    return sum(s.steps * s.size[0] * s.size[1] for s in octaves(hw, options)) / 1e6
