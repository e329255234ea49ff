"""Universal style transfer by whitening and colouring (Li et al., NeurIPS 2017) with the 16x-compressed
VGG19 encoders and decoders of Collaborative Distillation (Wang et al., CVPR 2020).

Level k has an encoder up to relu{k}_1 (``conv0`` is a fixed 1x1 colour transform, then VGG19's 3x3 convs
with reflection padding and max pooling, channels cut 4x) and a mirror decoder (nearest upsampling).
The cascade runs the deepest level first: encode, whiten the content features, colour them with the style's
covariance, decode, and hand the image to the next shallower level. Parameter names follow the upstream
state dicts (``conv11``, ``conv12`` ... ``conv51``; the ``*_aux`` distillation heads are not used).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

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
        vals, vecs = torch.linalg.eigh(cov)
        keep = vals > EPS_EIGEN
        vecs, vals = vecs[:, keep], vals[keep]
        return ColorTransform(mean, vecs @ torch.diag(vals.sqrt()) @ vecs.T)


def whiten(flat: torch.Tensor) -> torch.Tensor:
    """Whitened (C, N) features: centred, decorrelated and scaled to unit variance (covariance + I, as the
    reference implementation, keeps it stable)."""
    flat = flat.double()
    centred = flat - flat.mean(1, keepdim=True)
    cov = centred @ centred.T / max(1, flat.shape[1] - 1) + torch.eye(flat.shape[0], dtype=flat.dtype,
                                                                       device=flat.device)
    vals, vecs = torch.linalg.eigh(cov)
    keep = vals > EPS_EIGEN
    vecs, vals = vecs[:, keep], vals[keep]
    return vecs @ torch.diag(vals.rsqrt()) @ vecs.T @ centred


def whiten_color(content: torch.Tensor, style: ColorTransform) -> torch.Tensor:
    """WCT of (C, N) content features with a style's statistics, returned as float64 (C, N)."""
    return style.color @ whiten(content) + style.mean


class WCT(nn.Module):
    """The five-level cascade. ``encode_style`` once per style, then ``stylize`` any content."""

    multiple = 16  # sides must be multiples of 2^(deepest level - 1) for the decoders to restore the size

    def __init__(self) -> None:
        super().__init__()
        self.encoders = nn.ModuleList(LevelEncoder(k) for k in range(1, 6))
        self.decoders = nn.ModuleList(LevelDecoder(k) for k in range(1, 6))

    def load_files(self, paths: dict[str, object]) -> WCT:
        """Load the upstream ``kSE.pth`` / ``kSD.pth`` files (each {"model": state_dict, ...})."""
        for k in range(1, 6):
            for kind, modules in (("SE", self.encoders), ("SD", self.decoders)):
                state = torch.load(paths[f"{k}{kind}"], map_location="cpu", weights_only=True)
                state = {n: t for n, t in state.get("model", state).items() if "_aux" not in n}
                modules[k - 1].load_state_dict(state)
        return self.eval().requires_grad_(False)

    @torch.no_grad()
    def encode_style(self, style: torch.Tensor, levels: int = 5) -> list[ColorTransform]:
        """Per-level statistics of a (1, 3, H, W) style image, shallowest level first."""
        return [ColorTransform.of(self.encoders[k](style)) for k in range(levels)]

    @torch.no_grad()
    def stylize(self, content: torch.Tensor, styles: list[list[ColorTransform]], weights: list[float],
                alpha: float = 1.0, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run the cascade from level ``len(styles[0])`` down to 1.

        With several styles the WCT outputs are mixed with ``weights`` (Li et al.'s interpolation); with a
        ``mask`` ((1, 1, H, W), values in [0, 1]) exactly two styles are given and style 1 goes where the
        mask is bright, style 2 where it is dark. ``alpha`` blends the coloured features with the content's.
        """
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
