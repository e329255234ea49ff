"""The one optimisation loop: an image parameter, an optimizer, a coarse-to-fine schedule, callbacks."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import StylekitError
from ..io.geometry import resize
from ..options import OPTIMIZER_CHOICES, OptimizerSettings
from .callbacks import Callback, KeepBest, Progress, StopRun, StopScale
from .space import UNIT, PixelSpace

LBFGS_HISTORY = OptimizerSettings.lbfgs_history  # past steps kept by L-BFGS by default: 2·50 image copies
LossFn = Callable[[torch.Tensor], dict[str, torch.Tensor]]
OPTIMIZERS = (*OPTIMIZER_CHOICES, "normalized")  # "normalized" is DeepDream's own, not offered to users
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02, "sgd": 0.05, "normalized": 0.01}


@dataclass(frozen=True)
class Scale:
    """One level of a coarse-to-fine schedule."""

    size: tuple[int, int]  # (height, width)
    steps: int


@dataclass
class OptimResult:
    """The loop's outcome: the best image of the last scale reached, and what happened."""

    image: torch.Tensor
    loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False


class NormalizedGradient(torch.optim.Optimizer):
    """Gradient descent with the step scaled by the gradient's mean magnitude: each step moves pixels by about
    ``lr`` whatever the loss's scale (DeepDream's update)."""

    def __init__(self, params: list[torch.Tensor], lr: float = 0.01) -> None:
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad / p.grad.abs().mean().clamp_min(1e-12), alpha=-group["lr"])
        return loss


def make_optimizer(name: str, params: list[torch.Tensor], lr: float | None,
                   settings: OptimizerSettings | None = None) -> torch.optim.Optimizer:
    """L-BFGS (``settings.evals_per_step`` iterations per step), Adam, SGD with momentum, or normalized gradient
    steps, with ``settings``' momentum, betas, epsilon, history and line search (defaults: stylekit's)."""
    s = settings or OptimizerSettings()
    lr = DEFAULT_LR.get(name, 1.0) if lr is None else lr
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=s.evals_per_step, max_eval=s.evals_per_step,
                                 history_size=s.lbfgs_history,
                                 line_search_fn="strong_wolfe" if s.line_search == "strong-wolfe" else None)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(s.adam_beta1, s.adam_beta2), eps=s.adam_eps)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=s.momentum)
    if name == "normalized":
        return NormalizedGradient(params, lr=lr)
    raise StylekitError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")


def optimize(init: torch.Tensor, build_loss: Callable[[tuple[int, int]], LossFn], schedule: Sequence[Scale],
             optimizer: str = "lbfgs", lr: float | None = None, callbacks: Sequence[Callback] = (),
             carry: Callable[[torch.Tensor, tuple[int, int]], torch.Tensor] = resize,
             settings: OptimizerSettings | None = None, space: PixelSpace = UNIT, clamp: bool = True) -> OptimResult:
    """Minimise ``build_loss(size)(image)`` over the pixels of an image, scale by scale.

    Each scale starts from ``carry(image, size)``: ``init`` (B, 3, H, W) RGB in [0, 1] for the first, then the
    previous scale's result (by default simply resized). ``build_loss(size)`` returns a function of the RGB image
    giving named loss terms (targets are computed once per scale, there). The pixels optimised live in ``space``
    (e.g. 0-255 or the network's preprocessed values, so a tutorial's learning rate means what it says); with
    ``clamp`` they are kept in range after every step. ``settings`` are the optimizer's own (momentum, betas,
    L-BFGS history, evaluations per step, line search, restarts, keeping the best image or the last).

    Callbacks hear ``on_step`` once per step, with the lowest-loss evaluation of that step (a step of L-BFGS may
    evaluate the loss several times). A Ctrl-C (KeyboardInterrupt) or a callback's :class:`StopRun` ends the run and
    returns the image so far with ``interrupted``.
    """
    settings = settings or OptimizerSettings()
    keep = KeepBest()
    callbacks = [keep, *callbacks]
    total = sum(s.steps for s in schedule)
    start, step, history = time.perf_counter(), 0, []
    image, interrupted = init.detach(), False
    for index, scale in enumerate(schedule):
        y = space.to_space(carry(image, scale.size)).detach().clone().requires_grad_(True)
        try:
            for cb in callbacks:
                cb.on_scale_start(index, scale.size, scale.steps)
            loss_fn = build_loss(scale.size)
            opt = make_optimizer(optimizer, [y], lr, settings)
            seen: dict[str, Any] = {}

            def closure() -> torch.Tensor:
                opt.zero_grad(set_to_none=True)
                x = space.to_unit(y)
                terms = loss_fn(x)
                loss = sum(terms.values())
                if not torch.isfinite(loss):
                    raise StylekitError("the loss became NaN or infinite: lower `lr` or the loss weights")
                loss.backward()
                if not y.grad.is_contiguous():  # some conv kernels return channels-last gradients
                    y.grad = y.grad.contiguous()
                if optimizer == "sgd" and settings.sgd_normalize:
                    y.grad.div_(y.grad.abs().mean().clamp_min(1e-30))
                value = float(loss.detach())
                if value < seen.get("loss", math.inf):
                    # x is computed from y, not a view of it: later steps do not change it
                    seen.update(loss=value, terms={k: float(v.detach()) for k, v in terms.items()}, image=x.detach())
                return loss

            for i in range(scale.steps):
                if i and settings.restart_every and i % settings.restart_every == 0:
                    opt = make_optimizer(optimizer, [y], lr, settings)
                seen.clear()
                opt.step(closure)
                if clamp:
                    with torch.no_grad():
                        y.copy_(space.clamp(y))
                step += 1
                elapsed = time.perf_counter() - start
                history.append({"step": step, "scale": index, "elapsed": elapsed, "loss": seen["loss"],
                                **seen["terms"]})
                progress = Progress(step, total, index, len(schedule), scale.size, seen["loss"], seen["terms"],
                                    elapsed, seen["image"])
                for cb in callbacks:
                    cb.on_step(progress)
        except StopScale:
            pass
        except (KeyboardInterrupt, StopRun):
            interrupted = True
        last = space.to_unit(y).detach()
        image = keep.image if settings.keep_best and keep.image is not None else last
        if interrupted:
            break
        step = sum(s.steps for s in schedule[: index + 1])
    return OptimResult(image, keep.loss if math.isfinite(keep.loss) else math.nan, history, interrupted)
