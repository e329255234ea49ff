"""The one optimisation loop: an image parameter, an optimizer, a coarse-to-fine schedule, callbacks."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ..errors import StylekitError
from ..io.geometry import resize
from ..options import OPTIMIZER_CHOICES
from .callbacks import Callback, KeepBest, Progress, StopRun, StopScale

LBFGS_HISTORY = 50  # past steps kept by L-BFGS; bounds its memory at 2·50 image copies
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


def make_optimizer(name: str, params: list[torch.Tensor], lr: float | None) -> torch.optim.Optimizer:
    """L-BFGS (one iteration per step), Adam, SGD with momentum, or normalized gradient steps."""
    lr = DEFAULT_LR.get(name, 1.0) if lr is None else lr
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=1, history_size=LBFGS_HISTORY)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "normalized":
        return NormalizedGradient(params, lr=lr)
    raise StylekitError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")


def optimize(init: torch.Tensor, build_loss: Callable[[tuple[int, int]], LossFn], schedule: Sequence[Scale],
             optimizer: str = "lbfgs", lr: float | None = None, callbacks: Sequence[Callback] = (),
             carry: Callable[[torch.Tensor, tuple[int, int]], torch.Tensor] = resize) -> OptimResult:
    """Minimise ``build_loss(size)(image)`` over the pixels of an image, scale by scale.

    Each scale starts from ``carry(image, size)``: ``init`` (B, 3, H, W) in [0, 1] for the first, then the
    previous scale's best image (by default simply resized). ``build_loss(size)`` returns a function of the
    image giving named loss terms (targets are computed once per scale, there). Pixels are clamped to [0, 1]
    after every step.
    A Ctrl-C (KeyboardInterrupt) or a callback's :class:`StopRun` ends the run and returns the best image so
    far with ``interrupted``.
    """
    keep = KeepBest()
    callbacks = [keep, *callbacks]
    total = sum(s.steps for s in schedule)
    start, step, history = time.perf_counter(), 0, []
    image, interrupted = init.detach(), False
    for index, scale in enumerate(schedule):
        x = carry(image, scale.size).detach().clone().requires_grad_(True)
        try:
            for cb in callbacks:
                cb.on_scale_start(index, scale.size, scale.steps)
            loss_fn = build_loss(scale.size)
            opt = make_optimizer(optimizer, [x], lr)

            def closure() -> torch.Tensor:
                nonlocal step
                opt.zero_grad(set_to_none=True)
                terms = loss_fn(x)
                loss = sum(terms.values())
                if not torch.isfinite(loss):
                    raise StylekitError("the loss became NaN or infinite: lower --lr or the loss weights")
                loss.backward()
                if not x.grad.is_contiguous():  # some conv kernels return channels-last gradients
                    x.grad = x.grad.contiguous()
                step += 1
                values = {k: float(v.detach()) for k, v in terms.items()}
                elapsed = time.perf_counter() - start
                history.append({"step": step, "scale": index, "elapsed": elapsed, "loss": float(loss.detach()),
                                **values})
                progress = Progress(step, total, index, len(schedule), scale.size, float(loss.detach()), values,
                                    elapsed, x.detach())
                for cb in callbacks:
                    cb.on_step(progress)
                return loss

            for _ in range(scale.steps):
                opt.step(closure)
                with torch.no_grad():
                    x.clamp_(0, 1)
        except StopScale:
            pass
        except (KeyboardInterrupt, StopRun):
            interrupted = True
        image = keep.image if keep.image is not None else x.detach()
        if interrupted:
            break
        step = sum(s.steps for s in schedule[: index + 1])
    return OptimResult(image, keep.loss if math.isfinite(keep.loss) else math.nan, history, interrupted)
