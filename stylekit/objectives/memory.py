"""Memory model of an optimisation step and the tile planner that keeps each scale within the free memory."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..backbones import FeatureExtractor
from ..devices import available_memory
from ..errors import OutOfMemoryEstimate
from ..io.geometry import fit_long_side
from ..optim import Scale, schedule
from ..optim.loop import LBFGS_HISTORY
from ..options import TransferOptions
from .tiled import TileLayout

RUNTIME_OVERHEAD = 375 * 2**20  # Python, torch, the loaded images (fitted, see estimate_peak_bytes)


def _activations(backbone: FeatureExtractor, deepest: str, size: tuple[int, int]) -> int:
    """Number of floats one forward pass to ``deepest`` produces at ``size`` (h, w)."""
    h, w = size
    channels, total = 3, 0
    for name, module in backbone.layers.items():
        if isinstance(module, torch.nn.Conv2d):
            channels = module.out_channels
        elif name.startswith("pool"):
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        total += channels * h * w
        if name == deepest:
            break
    return total


def estimate_peak_bytes(backbone: FeatureExtractor, layers: Sequence[str], size: tuple[int, int],
                        optimizer: str = "lbfgs", steps: int | None = None, tile: int | None = None,
                        content_layers: Sequence[str] = ()) -> int:
    """Estimate a transfer's peak memory (bytes) at ``size`` (h, w), whole or in tiles of ``tile`` px.

    Model, fitted to measured peak RSS of VGG19 runs (benchmarks/memory.py): a fixed runtime, the weights,
    1.22 × the activations one forward to the deepest layer produces (autograd keeps them; gradients and
    temporaries add the 0.22) for the whole image or one padded tile, and the image copies the optimizer
    holds (L-BFGS: two per remembered step, ``min(steps, history)``; ``steps`` None means a full history).
    Tiling adds a whole-image gradient and the ``content_layers``' whole feature maps (the targets).
    """
    deepest = backbone.deepest(layers)
    weights = sum(p.numel() for p in backbone.parameters())  # the whole shared network is resident
    remembered = LBFGS_HISTORY if steps is None else min(steps, LBFGS_HISTORY)
    pixels = size[0] * size[1]
    copies = (2 * remembered if optimizer == "lbfgs" else 3) + 8
    if tile is None:
        activations = _activations(backbone, deepest, size)
    else:
        layout = TileLayout.for_layers(backbone, layers, tile)
        side = layout.tile + 2 * layout.halo
        activations = _activations(backbone, deepest, (min(side, size[0]), min(side, size[1])))
        copies += 2
        activations += sum(backbone.channels(layer) * pixels // backbone.stride(layer) ** 2
                           for layer in content_layers)
    return int(RUNTIME_OVERHEAD + 4 * (weights + 1.22 * activations + copies * 3 * pixels))


TILE_SIZES = (1024, 512)  # tried in this order when a scale does not fit whole


def plan_tiles(backbone: FeatureExtractor, opts: TransferOptions, plan: Sequence[Scale],
               device: torch.device) -> dict[tuple[int, int], int | None]:
    """For every scale, None (whole image) or the tile size that makes it fit in the free memory.

    ``opts.tile`` N forces N-px tiles, 0 forbids tiling. Raises :class:`OutOfMemoryEstimate` naming the
    largest ``--size`` whose whole schedule fits when some scale cannot fit either way.
    """
    layers = [*opts.content_layers, *opts.style_layers]
    free = available_memory(device)

    def decide(size: tuple[int, int], steps: int) -> int | None | bool:
        if opts.tile:
            return opts.tile
        if estimate_peak_bytes(backbone, layers, size, opts.optimizer, steps) <= free:
            return None
        for tile in TILE_SIZES if opts.tile is None else ():
            if estimate_peak_bytes(backbone, layers, size, opts.optimizer, steps, tile,
                                   opts.content_layers) <= free:
                return tile
        return False

    tiles = {s.size: decide(s.size, s.steps) for s in plan}
    if all(t is not False for t in tiles.values()):
        return tiles
    final = plan[-1].size
    worst = max((s for s in plan if tiles[s.size] is False), key=lambda s: s.size)
    need = estimate_peak_bytes(backbone, layers, worst.size, opts.optimizer, worst.steps)
    hi, lo = max(final), 16
    while hi - lo > 8:
        mid = (lo + hi) // 2
        trial = schedule(fit_long_side(*final, mid), mid, opts.min_size, opts.steps)
        lo, hi = (mid, hi) if all(decide(s.size, s.steps) is not False for s in trial) else (lo, mid)
    raise OutOfMemoryEstimate(f"a {worst.size[1]}x{worst.size[0]} step needs about {need / 2**30:.1f} GiB but "
                              f"{free / 2**30:.1f} GiB is free on {device}: use --size {lo} or less")
