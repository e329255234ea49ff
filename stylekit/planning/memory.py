"""Memory model of the optimising methods and the pre-flight every one of them runs before any image work.

:func:`estimate_peak_bytes` is the one estimate (a transfer, a texture, an inversion, a dream, a feature-map
pass); :func:`preflight` checks a run's scales against the free memory, chooses tiles where the method has a
tiled loss, and otherwise refuses in one line naming the largest size that fits.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..backbones import FeatureExtractor
from ..devices import available_memory
from ..errors import OutOfMemoryEstimate
from ..io.geometry import MIN_SIDE, fit_long_side
from ..objectives.tiled import TileLayout
from ..optim import Scale
from ..optim.loop import LBFGS_HISTORY
from .run import scales_for

RUNTIME_OVERHEAD = 375 * 2**20  # Python, torch, the loaded images (fitted, see estimate_peak_bytes)
GRAPH_FACTOR = 1.22  # floats autograd holds per float of the forward's activations (fitted, see below)
BACKWARD_FLOOR = 11  # full-resolution maps of the first layer's width a backward holds at least (measured)
TILE_SIZES = (1024, 512)  # tried in this order when a scale does not fit whole


@dataclass(frozen=True)
class Reference:
    """An image run through the network without gradient to make a run's targets (a style image, a texture
    source), at a size that follows the run's scales.

    ``relative``: its long side is ``long_side`` times each scale's (``style_scale``); otherwise it is
    ``long_side`` pixels at the final scale and shrinks with the coarser ones (``source_size``). ``option``
    names the setting in a refusal.
    """

    shape: tuple[int, int]
    long_side: float
    option: str
    relative: bool = True

    def size_at(self, size: tuple[int, int], final: tuple[int, int]) -> tuple[int, int]:
        """Its (h, w) at the scale ``size`` of a run whose last scale is ``final``."""
        factor = self.long_side if self.relative else self.long_side / max(final)
        return fit_long_side(*self.shape, max(MIN_SIDE, round(max(size) * factor)))


def _forward(backbone: FeatureExtractor, layers: Sequence[str], size: tuple[int, int]) -> tuple[int, int]:
    """(floats the layers up to the deepest of ``layers`` produce at ``size`` (h, w), the most floats a pass
    without gradient holds at once: the kept outputs of ``layers``, the layer's input and its output)."""
    deepest, wanted = backbone.deepest(layers), set(layers)
    h, w = size
    channels, total, kept = 3, 0, 0
    current, peak = 3 * h * w, 3 * h * w
    for name, module in backbone.layers.items():
        if isinstance(module, torch.nn.Conv2d):
            channels = module.out_channels
        elif name.startswith("pool"):
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        out = channels * h * w
        total += out
        peak = max(peak, kept + current + out)
        kept, current = (kept + out, 0) if name in wanted else (kept, out)
        if name == deepest:
            break
    return total, peak


def estimate_peak_bytes(backbone: FeatureExtractor, layers: Sequence[str], size: tuple[int, int],
                        optimizer: str | None = "lbfgs", steps: int | None = None, tile: int | None = None,
                        content_layers: Sequence[str] = (),
                        references: Sequence[tuple[int, int]] = (), history: int = LBFGS_HISTORY) -> int:
    """Estimate a run's peak memory (bytes) at ``size`` (h, w), whole or in tiles of ``tile`` px.

    Model, fitted to measured peak RSS of VGG19 transfers (benchmarks/memory.py; the other methods are checked
    against it in benchmarks/large_images.py): a fixed runtime, the weights, 1.22 × the activations one
    forward to the deepest layer produces (autograd keeps them; gradients and temporaries add the 0.22) for
    the whole image or one padded tile, and the image copies the optimizer holds (L-BFGS: two per remembered
    step, ``min(steps, history)``; ``steps`` None means a full ``history``).
    Tiling adds a whole-image gradient and the ``content_layers``' whole feature maps (the targets). A loss on
    shallow layers only holds more than 1.22 × its few activations (the gradient crossing the first block,
    the loss's target and temporaries): at least 11 full-resolution maps of the first layer's width (measured
    for ``invert --layer relu1_1``: 6.4-10.7 at 512-1536 px; benchmarks/large_images.py).

    ``optimizer`` None is one pass without gradient that keeps the outputs of ``layers`` (feature maps): it holds
    what :func:`_forward` counts (measured: 1.00-1.02 × the peak RSS growth of such a pass, 1024-3072 px).
    ``references`` are the (h, w) of images passed the same way before the steps (style images, a texture
    source; over one tile at a time when tiled), each resized first: the largest of them counts instead of
    the activations when it needs more, since their features are gone before the steps start.
    """
    weights = sum(p.numel() for p in backbone.parameters())  # the whole shared network is resident
    pixels = size[0] * size[1]
    side = None
    if tile is not None:
        layout = TileLayout.for_layers(backbone, layers, tile)
        side = layout.tile + 2 * layout.halo

    def clip(hw: tuple[int, int]) -> tuple[int, int]:
        return hw if side is None else (min(side, hw[0]), min(side, hw[1]))

    if optimizer is None:
        copies, work = 2, _forward(backbone, layers, size)[1]  # the resized and the normalised image
    else:
        remembered = history if steps is None else min(steps, history)
        copies = (2 * remembered if optimizer == "lbfgs" else 3) + 8
        activations = _forward(backbone, layers, clip(size))[0]
        if side is not None:
            copies += 2
            activations += sum(backbone.channels(layer) * pixels // backbone.stride(layer) ** 2
                               for layer in content_layers)
        first = next(m.out_channels for m in backbone.layers.values() if isinstance(m, torch.nn.Conv2d))
        work = max(GRAPH_FACTOR * activations, BACKWARD_FLOOR * first * math.prod(clip(size)))
    for h, w in references:  # the resized image (two copies while resizing), then the pass
        work = max(work, 3 * h * w + max(3 * h * w, _forward(backbone, layers, clip((h, w)))[1]))
    return int(RUNTIME_OVERHEAD + 4 * (weights + work + copies * 3 * pixels))


def preflight(backbone: FeatureExtractor, device: torch.device, layers: Sequence[str], plan: Sequence[Scale], *,
              optimizer: str | None = "lbfgs", min_size: int | None = None,
              steps: Sequence[int] | int | None = None, content_layers: Sequence[str] = (),
              references: Sequence[Reference] = (), tile: int | None = 0,
              exact: bool = False, history: int = LBFGS_HISTORY) -> dict[tuple[int, int], int | None]:
    """Check a run against the free memory of ``device`` before it starts; for every scale of ``plan``, None
    (whole image) or the tile size that makes it fit.

    ``tile`` N forces N-px tiles, 0 forbids tiling (a method without a tiled loss), None tiles a scale only
    when it does not fit whole. A run that cannot fit raises :class:`OutOfMemoryEstimate` in one line naming
    the largest setting that fits: the references' option (``style_scale``, ``source_size``) when they are
    what does not fit, else ``size`` (a long side, or WxH with ``exact``); smaller runs are planned by
    :func:`~stylekit.planning.run.scales_for` with ``min_size`` and ``steps`` (default: the plan's).
    """
    free = available_memory(device)
    per_scale = [s.steps for s in plan] if steps is None else steps

    def estimate(scale: Scale, final: tuple[int, int], refs: Sequence[Reference], tile: int | None = None) -> int:
        return estimate_peak_bytes(backbone, layers, scale.size, optimizer, scale.steps, tile, content_layers,
                                   [r.size_at(scale.size, final) for r in refs], history)

    def decide(scale: Scale, final: tuple[int, int], refs: Sequence[Reference]) -> int | None | bool:
        if tile:
            return tile if estimate(scale, final, refs, tile) <= free else False
        if estimate(scale, final, refs) <= free:
            return None
        return next((t for t in (TILE_SIZES if tile is None else ()) if estimate(scale, final, refs, t) <= free),
                    False)

    def fits(run: Sequence[Scale], refs: Sequence[Reference]) -> bool:
        return all(decide(s, run[-1].size, refs) is not False for s in run)

    def largest(ok: Callable[[int], bool], high: int) -> int | None:
        """The largest n in [MIN_SIDE, high] with ok(n) (ok is monotonic), to within 8, or None."""
        if not ok(MIN_SIDE):
            return None
        lo, hi = MIN_SIDE, high
        while hi - lo > 8:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        return lo

    final = plan[-1].size
    tiles = {s.size: decide(s, final, references) for s in plan}
    if all(t is not False for t in tiles.values()):
        tiled = [f"{w}x{h}" for (h, w), t in tiles.items() if t]
        if tiled and tile is None:
            warnings.warn(f"{' and '.join(tiled)} would not fit in memory whole: computing in "
                          f"{max(t for t in tiles.values() if t)} px tiles (same result, slower)", stacklevel=3)
        return tiles
    worst = max((s for s in plan if tiles[s.size] is False), key=lambda s: s.size)
    need = estimate(worst, final, references)
    problem = (f"a {worst.size[1]}x{worst.size[0]} {'step' if optimizer else 'pass'} needs about "
               f"{need / 2**30:.1f} GiB but {free / 2**30:.1f} GiB is free on {device}")
    if references and fits(plan, ()):
        top = max(max(r.size_at(final, final)) for r in references)

        def shrunk(n: int) -> list[Reference]:
            return [dataclasses.replace(r, long_side=r.long_side * n / top) for r in references]

        n = largest(lambda n: fits(plan, shrunk(n)), top)
        if n is not None:
            r = shrunk(n)[0]
            step = 10.0 ** (math.floor(math.log10(r.long_side)) - 2)  # three significant digits, rounded down
            value = f"{math.floor(r.long_side / step) * step:.3g}" if r.relative else f"{math.floor(r.long_side)}"
            raise OutOfMemoryEstimate(f"{problem}: use `{r.option}` {value} or less")

    def run_at(n: int) -> list[Scale]:
        return scales_for(fit_long_side(*final, n), min_size, per_scale)

    n = largest(lambda n: fits(run_at(n), references), max(final))
    if n is None:
        raise OutOfMemoryEstimate(f"{problem}, and even the smallest size would not fit: free some memory")
    h, w = run_at(n)[-1].size
    raise OutOfMemoryEstimate(f"{problem}: use `size` {f'{w}x{h}' if exact else n} or less")
