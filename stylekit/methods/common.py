"""Pieces every optimising method shares: the run context (shared backbone, device, seeded generator) and the
objective-to-loss glue."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch

from ..backbones import FeatureExtractor, get_backbone
from ..devices import resolve_device
from ..errors import StylekitError
from ..objectives import Objective
from ..optim import Callback, ItemProgress
from ..optim.loop import LossFn
from ..options import NetworkOptions
from .result import MethodResult


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
    return torch.Generator().manual_seed(seed if seed is not None else secrets.randbits(63))


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


def run_items(names: Sequence[str], run_one: Callable[[int, list[R]], R], callbacks: Sequence[Callback]) -> list[R]:
    """A loop over items (zoom frames, layers): ``run_one(i, done)`` makes item ``i`` from those done; callbacks
    hear ``on_item`` after each. It stops after an interrupted item, and a Ctrl-C between two items keeps the
    finished ones (the last marked interrupted)."""
    done: list[R] = []
    for i, name in enumerate(names):
        try:
            done.append(run_one(i, done))
        except KeyboardInterrupt:
            if not done:
                raise
            done[-1].interrupted = True
            break
        for cb in callbacks:
            cb.on_item(ItemProgress(len(done), len(names), name, done[-1]))
        if done[-1].interrupted:
            break
    return done


def objective_loss(backbone: FeatureExtractor, objective: Objective,
                   transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> LossFn:
    """A loop loss function: features of the (optionally transformed) image, then the objective's terms."""
    layers = sorted(objective.layers)

    def loss_fn(image: torch.Tensor) -> dict[str, torch.Tensor]:
        seen = transform(image) if transform is not None else image
        return objective.terms(seen, backbone(seen, layers) if layers else {})

    return loss_fn
