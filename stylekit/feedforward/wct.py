"""Universal style transfer by whitening and colouring (Li et al., NeurIPS 2017) with the 16x-compressed
VGG19 encoders and decoders of Collaborative Distillation (Wang et al., CVPR 2020).

Level k has an encoder up to relu{k}_1 (``conv0`` is a fixed 1x1 colour transform, then VGG19's 3x3 convs
with reflection padding and max pooling, channels cut 4x) and a mirror decoder (nearest upsampling).
The cascade runs the deepest level first: encode, whiten the content features, colour them with the style's
covariance, decode, and hand the image to the next shallower level. Parameter names follow the upstream
state dicts (``conv11``, ``conv12`` ... ``conv51``; the ``*_aux`` distillation heads are not used).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..objectives.tiled import Tile
from .model import FastModel, StyleContext
from .tiles import layout, map_tiles, tile_cores

# (name, in, out) of VGG19's convs up to conv5_1 at 1/4 width, with "pool" where VGG pools.
_VGG16X = [("conv11", 3, 16), ("conv12", 16, 16), "pool", ("conv21", 16, 32), ("conv22", 32, 32), "pool",
           ("conv31", 32, 64), ("conv32", 64, 64), ("conv33", 64, 64), ("conv34", 64, 64), "pool",
           ("conv41", 64, 128), ("conv42", 128, 128), ("conv43", 128, 128), ("conv44", 128, 128), "pool",
           ("conv51", 128, 128)]
_LAST = {1: "conv11", 2: "conv21", 3: "conv31", 4: "conv41", 5: "conv51"}
EPS_EIGEN = 1e-5  # eigenvalues below this are dropped, as in the reference implementation


def _layers(level: int) -> list:
    """The encoder's layer list up to conv{level}1; level 1 is a single wider conv (3 -> 24)."""
    if level == 1:
        return [("conv11", 3, 24)]
    names = [item if item == "pool" else item[0] for item in _VGG16X]
    return _VGG16X[:names.index(_LAST[level]) + 1]


def _geometry(level: int) -> tuple[int, int, int]:
    """(stride, encoder reach, encoder + decoder reach) of a level, in image pixels: image pixels per feature,
    and how far one feature and one decoded pixel see on each side. Reach is counted as the band along a
    tile's edge that differs from the whole image's: one pixel wider per 3x3 convolution, halved (rounding up)
    by pooling, doubled by upsampling."""
    layers = _layers(level)
    stride = 2 ** layers.count("pool")
    band = 0
    for item in layers:
        band = -(-band // 2) if item == "pool" else band + 1
    encoder = band * stride
    for item in reversed(layers):
        band = band * 2 if item == "pool" else band + 1
    return stride, encoder, band


def _conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    return F.relu(conv(F.pad(x, (1, 1, 1, 1), mode="reflect")))


class LevelEncoder(nn.Module):
    """Encoder of one level: RGB in [0, 1] to relu{level}_1-like features."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.spec = _layers(level)
        self.conv0 = nn.Conv2d(3, 3, 1)
        for item in self.spec:
            if item != "pool":
                setattr(self, item[0], nn.Conv2d(item[1], item[2], 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv0(x)
        for item in self.spec:
            x = F.max_pool2d(x, 2) if item == "pool" else _conv(x, getattr(self, item[0]))
        return x


class LevelDecoder(nn.Module):
    """Decoder of one level: the encoder reversed, with nearest-neighbour upsampling where it pooled."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.spec = list(reversed(_layers(level)))
        for item in self.spec:
            if item != "pool":
                setattr(self, item[0], nn.Conv2d(item[2], item[1], 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for item in self.spec:
            x = F.interpolate(x, scale_factor=2, mode="nearest") if item == "pool" else _conv(x, getattr(self, item[0]))
        return x


@dataclass
class ColorTransform:
    """A style's statistics at one level: feature mean (C, 1) and colouring matrix Σ^½ (C, C), float64."""

    mean: torch.Tensor
    color: torch.Tensor

    @staticmethod
    def of(features: torch.Tensor) -> ColorTransform:
        """Statistics of (1, C, H, W) or (C, N) features."""
        flat = features.reshape(features.shape[-3] if features.dim() == 4 else features.shape[0], -1).double()
        mean = flat.mean(1, keepdim=True)
        centred = flat - mean
        cov = centred @ centred.T / max(1, flat.shape[1] - 1)
        return ColorTransform(mean, _power(cov, torch.sqrt))

    @staticmethod
    def of_moments(moments: Moments) -> ColorTransform:
        """Statistics of features whose moments were accumulated (tile by tile)."""
        return ColorTransform(moments.mean, _power(moments.covariance(), torch.sqrt))


@dataclass
class Moments:
    """Count, sum (C, 1) and sum of outer products (C, C), float64, of (C, N) features: a whole image's mean
    and covariance, accumulated tile by tile."""

    count: int
    total: torch.Tensor
    outer: torch.Tensor

    @staticmethod
    def of(flat: torch.Tensor) -> Moments:
        """Moments of (C, N) features."""
        flat = flat.double()
        return Moments(flat.shape[1], flat.sum(1, keepdim=True), flat @ flat.T)

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.count + other.count, self.total + other.total, self.outer + other.outer)

    @property
    def mean(self) -> torch.Tensor:
        """The (C, 1) mean."""
        return self.total / max(1, self.count)

    def covariance(self) -> torch.Tensor:
        """The (C, C) covariance (unbiased)."""
        return (self.outer - self.count * self.mean @ self.mean.T) / max(1, self.count - 1)


def _power(cov: torch.Tensor, fn) -> torch.Tensor:  # noqa: ANN001 - torch.sqrt or torch.rsqrt
    """V·fn(Λ)·Vᵀ of a covariance over its eigenvalues above EPS_EIGEN (Σ^½ with sqrt, Σ^-½ with rsqrt)."""
    vals, vecs = torch.linalg.eigh(cov)
    keep = vals > EPS_EIGEN
    vecs, vals = vecs[:, keep], vals[keep]
    return vecs @ torch.diag(fn(vals)) @ vecs.T


def _identity(channels: int, like: torch.Tensor) -> torch.Tensor:
    return torch.eye(channels, dtype=like.dtype, device=like.device)


def whiten(flat: torch.Tensor) -> torch.Tensor:
    """Whitened (C, N) features: centred, decorrelated and scaled to unit variance (covariance + I, as the
    reference implementation, keeps it stable)."""
    flat = flat.double()
    centred = flat - flat.mean(1, keepdim=True)
    cov = centred @ centred.T / max(1, flat.shape[1] - 1) + _identity(flat.shape[0], flat)
    return _power(cov, torch.rsqrt) @ centred


def wct_affine(moments: Moments, styles: list[tuple[ColorTransform, float]],
               alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, b), float64, with A·f + b = alpha·Σ weight·(colour·whiten(f) + mean) + (1 - alpha)·f for every
    feature f of the image whose moments are given (``styles``: (statistics, weight) pairs): the cascade's
    per-level map once the whole image's statistics are known. Fewer than two features are left as they are."""
    eye = _identity(moments.total.shape[0], moments.total)
    if moments.count < 2:
        return eye, torch.zeros_like(moments.total)
    white = _power(moments.covariance() + eye, torch.rsqrt)
    mixed = [(weight * style.color @ white, weight * style.mean) for style, weight in styles]
    a = sum(m for m, _ in mixed)
    b = sum(mean for _, mean in mixed) - a @ moments.mean
    return alpha * a + (1 - alpha) * eye, alpha * b


def whiten_color(content: torch.Tensor, style: ColorTransform) -> torch.Tensor:
    """WCT of (C, N) content features with a style's statistics, returned as float64 (C, N)."""
    return style.color @ whiten(content) + style.mean


@dataclass
class StyleMix:
    """The styles of a WCT run: each style's per-level statistics (from :meth:`WCT.encode_style`) and its
    weight. The cascade mixes the styles' WCT outputs, not their statistics, so a blend of mixes is the mix of
    all their styles with the weights multiplied."""

    styles: list[list[ColorTransform]]
    weights: list[float]


class WCT(FastModel):
    """The five-level cascade. ``encode_style`` once per style, then ``stylize`` any content."""

    multiple = 16  # sides must be multiples of 2^(deepest level - 1) for the decoders to restore the size
    min_content, min_style = 17, 32  # shortest sides the deepest level's reflection padding accepts (measured)
    peak_bytes_per_pixel = (850, 64)

    def __init__(self) -> None:
        super().__init__()
        self.encoders = nn.ModuleList(LevelEncoder(k) for k in range(1, 6))
        self.decoders = nn.ModuleList(LevelDecoder(k) for k in range(1, 6))

    def load_files(self, paths: Mapping[str, str | os.PathLike]) -> WCT:
        """Load the upstream ``kSE.pth`` / ``kSD.pth`` files (each {"model": state_dict, ...})."""
        for k in range(1, 6):
            for kind, modules in (("SE", self.encoders), ("SD", self.decoders)):
                state = torch.load(paths[f"{k}{kind}"], map_location="cpu", weights_only=True)
                state = {n: t for n, t in state.get("model", state).items() if "_aux" not in n}
                modules[k - 1].load_state_dict(state)
        return self.eval().requires_grad_(False)

    @torch.no_grad()
    def encode_style(self, style: torch.Tensor, levels: int = 5, tile: int | None = None) -> list[ColorTransform]:
        """Per-level statistics of a (1, 3, H, W) style image, shallowest level first; with ``tile`` (sides
        multiples of 16), accumulated over tiles of about that many pixels."""
        if tile is None:
            return [ColorTransform.of(self.encoders[k](style)) for k in range(levels)]
        return [ColorTransform.of_moments(self._moments(style, k, tile)[0]) for k in range(levels)]

    def encode(self, styles: Sequence[torch.Tensor], context: StyleContext) -> StyleMix:
        """Each style's statistics at ``context.options.levels`` levels (whole or in tiles as ``context.fit``
        plans), with the blend weights."""
        mixes = []
        for i, style in enumerate(styles):
            style, tile = context.fit(style, i)
            mixes.append(StyleMix([self.encode_style(style, context.options.levels, tile)], [1.0]))
        return self.blend(mixes, context.weights)

    def blend(self, codes: Sequence[StyleMix], weights: Sequence[float]) -> StyleMix:
        """One mix of all the styles of ``codes``, each weighted by its mix's weight times its own."""
        return StyleMix([s for code in codes for s in code.styles],
                        [w * own for code, w in zip(codes, weights) for own in code.weights])

    def _moments(self, x: torch.Tensor, k: int, tile: int, labels: torch.Tensor | None = None) -> list[Moments]:
        """Moments of level ``k``'s features of ``x`` over tiles: of all of them, or with ``labels`` (a bool map
        at the features' resolution) of those where it is True and of the others."""
        stride, reach, _ = _geometry(k + 1)
        parts: list[Moments] = []
        for t, core in tile_cores(lambda patch, _: self.encoders[k](patch), x, layout(tile, reach, stride), 1,
                                  stride):
            flat = core.reshape(core.shape[1], -1)
            if labels is None:
                picks = [flat]
            else:
                inside = t.region(labels, stride).reshape(-1)
                picks = [flat[:, inside], flat[:, ~inside]]
            found = [Moments.of(p) for p in picks]
            parts = found if not parts else [a + b for a, b in zip(parts, found)]
        return parts

    def _stylize_tiled(self, content: torch.Tensor, styles: list[list[ColorTransform]], weights: list[float],
                       alpha: float, mask: torch.Tensor | None, tile: int) -> torch.Tensor:
        """:meth:`stylize` in tiles: per level, the whole image's moments, then encode-map-decode per tile."""
        x = content
        for k in reversed(range(len(styles[0]))):
            stride, _, reach = _geometry(k + 1)
            size = (x.shape[-2] // stride, x.shape[-1] // stride)
            labels = None if mask is None else F.interpolate(mask, size=size, mode="nearest")[0, 0] > 0.5
            groups = ([list(zip([s[k] for s in styles], weights))] if mask is None
                      else [[(styles[0][k], 1.0)], [(styles[1][k], 1.0)]])
            maps = [wct_affine(m, g, alpha) for m, g in zip(self._moments(x, k, tile, labels), groups)]

            def stage(patch: torch.Tensor, t: Tile) -> torch.Tensor:  # runs within this iteration of the loop
                feats = self.encoders[k](patch)
                c, h, w = feats.shape[1:]
                flat = feats.reshape(c, -1).double()
                out = [a @ flat + b for a, b in maps]
                if labels is not None:
                    inside = labels[t.py0 // stride:t.py1 // stride, t.px0 // stride:t.px1 // stride].reshape(-1)
                    out = [torch.where(inside, out[0], out[1])]
                return self.decoders[k](out[0].to(feats.dtype).reshape(1, c, h, w))

            x = map_tiles(stage, x, layout(tile, reach, stride))
        return x.clamp(0, 1)

    @torch.no_grad()
    def stylize(self, content: torch.Tensor, mix: StyleMix, alpha: float = 1.0, mask: torch.Tensor | None = None,
                tile: int | None = None) -> torch.Tensor:
        """Run the cascade from level ``len(mix.styles[0])`` down to 1.

        With several styles the WCT outputs are mixed with the mix's weights (Li et al.'s interpolation); with
        a ``mask`` ((1, 1, H, W), values in [0, 1]) exactly two styles are given and style 1 goes where the
        mask is bright, style 2 where it is dark. ``alpha`` blends the coloured features with the content's.

        With ``tile`` (sides multiples of 16), each level runs in tiles of about that many pixels, in two
        passes: the content's feature statistics are accumulated over the tiles (:class:`Moments`: the whole
        image's, not each tile's, and not those of a downscaled copy), then each tile is encoded, whitened and
        coloured with them (:func:`wct_affine`) and decoded, read with a halo as wide as the level's encoder
        and decoder see, so the result equals the untiled one up to float rounding, with no seams.
        """
        styles, weights = mix.styles, mix.weights
        if tile is not None:
            return self._stylize_tiled(content, styles, weights, alpha, mask, tile)
        x = content
        for k in reversed(range(len(styles[0]))):
            feats = self.encoders[k](x)
            c, h, w = feats.shape[1:]
            flat = feats.reshape(c, -1)
            if mask is None:
                target = sum(wt * whiten_color(flat, s[k]) for s, wt in zip(styles, weights))
            else:
                region = F.interpolate(mask, size=(h, w), mode="nearest").reshape(-1) > 0.5
                target = flat.double().clone()
                for inside, s in ((region, styles[0]), (~region, styles[1])):
                    if int(inside.sum()) > 1:
                        target[:, inside] = whiten_color(flat[:, inside], s[k])
            mixed = alpha * target.to(flat.dtype) + (1 - alpha) * flat
            x = self.decoders[k](mixed.reshape(1, c, h, w))
        return x.clamp(0, 1)
