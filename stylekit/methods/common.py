"""Pieces every optimising method shares: the run context (shared backbone, device, seeded generator) and the
objective-to-loss glue."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from .. import provenance
from ..backbones import FeatureExtractor, architecture, get_backbone
from ..backbones.vgg import CAFFE_MEAN_BGR
from ..devices import resolve_device
from ..errors import StylekitError
from ..objectives import Objective
from ..objectives.targets import unclaimed
from ..optim import Callback, ItemProgress, OptimResult
from ..optim.loop import LossFn
from ..optim.space import RANGE_255, UNIT, PixelSpace
from ..options import NetworkOptions, OptionError, specs
from .result import MethodResult

CAFFE = PixelSpace("preprocessed", 255.0, CAFFE_MEAN_BGR, (1.0, 1.0, 1.0), bgr=True)  # Caffe/Keras VGG input


R = TypeVar("R", bound=MethodResult)


@dataclass
class RunContext:
    """What one run works with: the shared backbone, the device and the run's own random generator."""

    backbone: FeatureExtractor
    device: torch.device
    generator: torch.Generator


def seeded_generator(seed: int | None) -> torch.Generator:
    """A CPU generator for this run's random draws, seeded with ``seed`` or a fresh random seed; torch's global
    RNG is never touched (web jobs run in threads)."""
    used = seed if seed is not None else secrets.randbits(63)
    provenance.note_seed(used)  # an output remembers the seed it was made with, given or drawn
    return torch.Generator().manual_seed(used)


def run_context(opts: NetworkOptions, layers: Sequence[str], backbone: FeatureExtractor | None = None) -> RunContext:
    """The backbone named by ``opts`` (loaded once per process, or the one given), checked for ``layers``, on the
    options' device, with a generator seeded from ``opts.seed`` when it has one."""
    device = resolve_device(opts.device)
    net = backbone if backbone is not None else get_backbone(opts.backbone, opts.pooling, opts.weights, device)
    net.check_layers(layers)
    held = next(net.parameters()).device
    if held.type != device.type or (device.index is not None and held != device):
        raise StylekitError(f"the backbone given is on {held} but the run is on {device}: pass one on {device}")
    return RunContext(net, device, seeded_generator(getattr(opts, "seed", None)))


def check_channels(net: FeatureExtractor, layer: str, channels: Sequence[int] | None) -> None:
    """A user error naming the first of ``channels`` that ``layer`` of ``net`` does not have."""
    count = net.channels(layer)
    bad = [c for c in channels or () if not 0 <= c < count]
    if bad:
        raise StylekitError(f"channel {bad[0]} is out of range for {layer}, which has {count} channels "
                            f"(0-{count - 1})")


def check_network(options: Any) -> None:
    """The checks a run makes against its network, made before it: every layer-name option is a layer of the
    chosen backbone (our names or Keras's), and every channel option is a channel of its ``layer``. Only the
    architecture is built (no weights are read). Errors name the option by field."""
    name = getattr(options, "backbone", None)
    if name is None:
        return
    net = architecture(name, getattr(options, "pooling", "max"))
    for f, spec in specs(options):
        value = getattr(options, f.name)
        if value is None:
            continue
        try:
            if spec.layers:
                net.check_layers([value] if isinstance(value, str) else value)
            elif f.name in ("channel", "channels") and spec.kind in ("int", "ints", "indices") and \
                    hasattr(options, "layer") and not (f.name == "channels" and spec.kind == "int"):
                check_channels(net, net.layer(options.layer), [value] if isinstance(value, int) else value)
        except StylekitError as exc:
            raise OptionError(f"`{f.name}`: {exc.template}", f.name) from None


def run_items(names: Sequence[str], run_one: Callable[[int, list[R]], R], callbacks: Sequence[Callback]) -> list[R]:
    """A loop over items (zoom frames, layers): ``run_one(i, done)`` makes item ``i`` from those done; callbacks
    hear ``on_item`` after each. It stops after an interrupted item, and a Ctrl-C between two items keeps the
    finished ones (the last marked interrupted)."""
    done: list[R] = []
    for i, name in enumerate(names):
        try:
            done.append(run_one(i, done))
            for cb in callbacks:  # a Ctrl-C while they report keeps the items too
                cb.on_item(ItemProgress(len(done), len(names), name, done[-1]))
        except KeyboardInterrupt:
            if not done:
                raise
            done[-1].interrupted = True
            break
        if done[-1].interrupted:
            break
    return done


def objective_loss(backbone: FeatureExtractor, objective: Objective,
                   transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                   dtype: torch.dtype = torch.float32, wrap: bool = False) -> LossFn:
    """A loop loss function: features of the (optionally transformed) image, computed in ``dtype`` (see
    :meth:`FeatureExtractor.forward`; ``wrap``: circular padding, for tileable results), then the objective's
    terms."""
    layers = sorted(objective.layers)

    def loss_fn(image: torch.Tensor) -> dict[str, torch.Tensor]:
        seen = transform(image) if transform is not None else image
        return objective.terms(seen, backbone(seen, layers, dtype, wrap) if layers else {})

    return loss_fn


def pixel_space(name: str, backbone: FeatureExtractor) -> PixelSpace:
    """The space pixels are optimised in: ``unit`` ([0, 1]), ``255`` (0-255 RGB) or ``preprocessed`` (the
    backbone's own input: for the Caffe VGG19, BGR in 0-255 minus the ImageNet mean)."""
    if name == "unit":
        return UNIT
    if name == "255":
        return RANGE_255
    if name == "preprocessed":
        return PixelSpace("preprocessed", backbone.value_range, tuple(backbone.mean.flatten().tolist()),
                          tuple(backbone.std.flatten().tolist()), backbone.bgr)
    raise StylekitError(f"unknown pixel space {name!r}: use unit, 255 or preprocessed")


def noise_image(kind: str, like: torch.Tensor, generator: torch.Generator, space: PixelSpace = CAFFE) -> torch.Tensor:
    """A noise start shaped like ``like``, as RGB (possibly outside [0, 1]): ``uniform`` over [0, 1]; ``centered``,
    uniform(0, 255) − 128 in ``space`` (seed 003's start in Keras's preprocessed space); ``faint``, 0.001·N(0, 1) in
    ``space`` (neural-style's ``-init random``: the mean colour plus faint noise). ``space`` is Caffe's and Keras's
    VGG input, whatever the backbone, so a seed is the same start everywhere."""
    if kind == "uniform":
        return torch.rand(like.shape, generator=generator).to(like)
    if kind == "centered":
        values = torch.rand(like.shape, generator=generator) * space.value_range - space.value_range * 128 / 255
    elif kind == "faint":
        values = torch.randn(like.shape, generator=generator) * 0.001
    else:
        raise StylekitError(f"unknown noise {kind!r}: use uniform, centered or faint")
    return space.to_unit(values.to(like))


STALL_STEPS = 10


def stall_warning(start: torch.Tensor, result: OptimResult, optimizer: str, lr: float | None,
                  space: PixelSpace) -> str | None:
    """One line naming the likely cause when a run of at least :data:`STALL_STEPS` steps ended with the image it
    started from (to 8-bit precision), or when the loss never went below its first value at any scale; None when
    it made progress (or was too short to tell: L-BFGS's first step is deliberately tiny)."""
    if len(result.history) < STALL_STEPS or result.interrupted:
        return None
    steps = len(result.history)
    same_size = result.image.shape == start.shape
    change = (result.image - start.to(result.image)).abs().max().item() if same_size else None
    rate = f"{lr:g}" if lr is not None else "the default"
    by_scale: dict[int, list[float]] = {}
    for entry in result.history:
        by_scale.setdefault(int(entry["scale"]), []).append(entry["loss"])
    never_better = all(len(losses) > 1 and min(losses[1:]) >= losses[0] for losses in by_scale.values())
    if never_better and any(max(losses[1:]) > losses[0] * (1 + 1e-6) for losses in by_scale.values()):
        first = result.history[0]["loss"]
        return (f"the loss never went below its first value ({first:.4g}) in {steps} steps: the learning rate "
                f"({rate}) is too large for the {space.name} pixel space, so every step overshoots; lower it")
    if change is not None and change < 0.5 / 255:
        cause = ("the gradient is below L-BFGS's tolerance, so the loss weights are tiny for this loss convention"
                 if optimizer == "lbfgs" else
                 f"the learning rate ({rate}) is too small for the {space.name} pixel space, or the loss weights "
                 "are tiny for this loss convention")
        return (f"the result is the start image unchanged after {steps} steps: {cause}; raise the style and "
                "content weights (or the learning rate), or use a preset that matches the recipe")
    return None


def load_masks(masks: Sequence[Any] | None, n_styles: int, hw: tuple[int, int],
               device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """The ``masks`` option's images as (1, 1, H, W) maps in [0, 1] at ``hw`` (their luminance, resized), one per
    style image at most; checked: a mask per style at most, and room left for the styles beyond them."""
    from ..io import load_mask, resize

    if not masks:
        return []
    if len(masks) > n_styles:
        raise OptionError(f"{len(masks)} `masks` for {n_styles} style image{'s' if n_styles > 1 else ''}: give at "
                          "most one mask per style image, in the same order", "masks")
    out = []
    for i, mask in enumerate(masks):
        out.append(resize(load_mask(mask, f"mask {i + 1}").to(device), hw).clamp(0, 1))
    if n_styles > len(out) and float(unclaimed(out).max()) < 1e-3:
        raise OptionError(f"the `masks` cover the whole image, so style image {len(out) + 1} has no room left: give "
                          "it a mask too, or leave it out", "masks")
    return out
