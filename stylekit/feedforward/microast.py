"""MicroAST (Wang et al., AAAI 2023): arbitrary style transfer with two tiny encoders, no VGG at inference.

A content encoder and a style encoder (same shape), a modulator that turns style features into per-channel
filter weights and biases, and a decoder that applies AdaIN ("feature modulation") and those filters
("filter modulation") at two depths. Module and parameter names follow the upstream state dicts.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .model import FastModel, StyleContext, region_at
from .tiles import layout, map_tiles, reach


def mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (unbiased variance + eps, as AdaIN) of (B, C, H, W) features, as (B, C, 1, 1)."""
    flat = features.flatten(2)
    var, mean = torch.var_mean(flat, dim=2, correction=1)
    return mean[..., None, None], (var + eps).sqrt()[..., None, None]


def adain(content: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Adaptive instance normalisation: ``content`` renormalised to the given per-channel mean and std."""
    c_mean, c_std = mean_std(content)
    return (content - c_mean) / c_std * std + mean


class ConvLayer(nn.Module):
    """Reflection padding then a (possibly grouped) convolution."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.conv_layer = nn.Conv2d(cin, cout, kernel, stride, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad:
            x = F.pad(x, (self.pad,) * 4, mode="reflect")
        return self.conv_layer(x)


def dense_equivalent(conv: nn.Conv2d) -> nn.Conv2d:
    """The same convolution as a grouped ``conv``, with a block-diagonal dense weight: at 1-2 channels per
    group oneDNN's dense kernels are about twice as fast as its grouped ones (full-size 32->16 layer of the
    decoder at 640x360: 20 ms grouped, 11 ms dense)."""
    g = conv.groups
    cin, cout = conv.in_channels, conv.out_channels
    dense = nn.Conv2d(cin, cout, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None)
    weight = torch.zeros_like(dense.weight)
    ipg, opg = cin // g, cout // g
    for i in range(g):
        weight[i * opg:(i + 1) * opg, i * ipg:(i + 1) * ipg] = conv.weight[i * opg:(i + 1) * opg]
    dense.weight = nn.Parameter(weight, requires_grad=False)
    if conv.bias is not None:
        dense.bias = nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
    return dense


class ResidualLayer(nn.Module):
    """x + conv(relu(conv(x))); with filter modulation each conv output y of input x becomes w·y + b·x."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.conv2 = ConvLayer(channels, channels, 3)

    def forward(self, x: torch.Tensor, weight: torch.Tensor | None = None,
                bias: torch.Tensor | None = None) -> torch.Tensor:
        if weight is None:
            return x + self.conv2(F.relu(self.conv1(x)))
        h = F.relu(weight * self.conv1(x) + bias * x)
        return x + weight * self.conv2(h) + bias * h


class Encoder(nn.Module):
    """Two feature levels at 1/4 resolution: after depthwise-separable downsampling + a residual block, and
    after a second residual block."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(
            ConvLayer(3, 16, 9), nn.ReLU(),
            ConvLayer(16, 32, 3, stride=2, groups=16), nn.ReLU(),
            ConvLayer(32, 32, 1), nn.ReLU(),
            ConvLayer(32, 64, 3, stride=2, groups=32), nn.ReLU(),
            ConvLayer(64, 64, 1), nn.ReLU(),
            ResidualLayer(64))
        self.enc2 = nn.Sequential(ResidualLayer(64))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x1 = self.enc1(x)
        return [x1, self.enc2(x1)]


class Modulator(nn.Module):
    """Per-channel filter weights and biases for the decoder's two residual blocks, from the style features."""

    def __init__(self) -> None:
        super().__init__()
        for name in ("weight1", "bias1", "weight2", "bias2"):
            setattr(self, name, nn.Sequential(ConvLayer(64, 64, 3, groups=64), nn.AdaptiveAvgPool2d(1)))

    def forward(self, feats: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        return [self.weight1(feats[0]), self.weight2(feats[1])], [self.bias1(feats[0]), self.bias2(feats[1])]


class Decoder(nn.Module):
    """Two modulated residual blocks at 1/4 resolution, then upsampling back to the input size."""

    def __init__(self) -> None:
        super().__init__()
        self.dec1 = ResidualLayer(64)
        self.dec2 = ResidualLayer(64)
        self.dec3 = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear"),
            ConvLayer(64, 32, 3, groups=32), nn.ReLU(),
            ConvLayer(32, 32, 1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="bilinear"),
            ConvLayer(32, 16, 3, groups=16), nn.ReLU(),
            ConvLayer(16, 16, 1), nn.ReLU(),
            ConvLayer(16, 3, 9))

    def forward(self, content: list[torch.Tensor], style: StyleCode) -> torch.Tensor:
        x = self.dec1(adain(content[1], style.means[1], style.stds[1]), style.weights[1], style.biases[1])
        x = self.dec2(adain(x, style.means[0], style.stds[0]), style.weights[0], style.biases[0])
        return self.dec3(x)


@dataclass
class StyleCode:
    """What the decoder needs from a style: feature means/stds and filter weights/biases at both levels.

    Every field is linear in what the decoder does with it, so a weighted sum of codes interpolates styles.
    """

    means: list[torch.Tensor]
    stds: list[torch.Tensor]
    weights: list[torch.Tensor]
    biases: list[torch.Tensor]

    @staticmethod
    def blend(codes: Sequence[StyleCode], weights: Sequence[float | torch.Tensor]) -> StyleCode:
        """The weighted sum of ``codes`` (weights should sum to 1; (1, 1, h, w) maps mix them per pixel)."""
        def mix(field: str) -> list[torch.Tensor]:
            return [sum(w * getattr(c, field)[i] for c, w in zip(codes, weights)) for i in range(2)]
        return StyleCode(mix("means"), mix("stds"), mix("weights"), mix("biases"))


class MicroAST(FastModel):
    """The full model: ``encode_style`` once per style, then ``stylize`` any number of content images."""

    multiple = 4  # input sides must be multiples of this (two stride-2 stages); also the tiles' alignment
    min_content = min_style = 5  # shortest sides the reflection padding accepts (measured)
    peak_bytes_per_pixel = (400, 100)

    def __init__(self) -> None:
        super().__init__()
        self.content_encoder = Encoder()
        self.style_encoder = Encoder()
        self.modulator = Modulator()
        self.decoder = Decoder()

    def _tiled(self, stage: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, stride_in: int,
               stride_out: int, *parts: nn.Module) -> torch.Tensor:
        """``stage`` (made of ``parts``) over ``x`` in tiles read with halos of its reach (see :mod:`.tiles`)."""
        grid = layout(tile, reach(*parts, jump=stride_in), self.multiple)
        return map_tiles(lambda patch, _: stage(patch), x, grid, stride_in, stride_out)

    @torch.no_grad()
    def encode_style(self, style: torch.Tensor, tile: int | None = None) -> StyleCode:
        """Style code of a (1, 3, H, W) RGB image in [0, 1] (sides multiples of 4 when ``tile`` is given).

        With ``tile``, the encoder runs in tiles of about that many pixels (see :mod:`.tiles`) and the
        modulator and statistics on its whole feature maps (at 1/4 resolution): the same code.
        """
        if tile is None:
            feats = self.style_encoder(style)
        else:
            enc = self.style_encoder
            first = self._tiled(enc.enc1, style, tile, 1, 4, enc.enc1)
            feats = [first, self._tiled(enc.enc2, first, tile, 4, 4, enc.enc2)]
        weights, biases = self.modulator(feats)
        stats = [mean_std(f) for f in feats]
        return StyleCode([m for m, _ in stats], [s for _, s in stats], weights, biases)

    def encode(self, styles: Sequence[torch.Tensor], context: StyleContext) -> StyleCode:
        """The blend of the styles' codes, each style encoded whole or in tiles as ``context.fit`` plans."""
        return self.blend([self.encode_style(*context.fit(style, i)) for i, style in enumerate(styles)],
                          context.weights)

    def blend(self, codes: Sequence[StyleCode], weights: Sequence[float]) -> StyleCode:
        """The weighted sum of style codes (:meth:`StyleCode.blend`)."""
        return StyleCode.blend(codes, weights)

    @torch.no_grad()
    def stylize_regions(self, content: torch.Tensor, codes: Sequence[StyleCode], regions: Sequence[torch.Tensor],
                        alpha: float = 1.0) -> torch.Tensor:
        """Each style code of ``codes`` in its region: the decoder's statistics and filter modulation (both at
        1/4 resolution) mixed per pixel."""
        if alpha < 1:
            own = self.encode_style(content)
            codes = [self.blend([code, own], [alpha, 1 - alpha]) for code in codes]
        feats = self.content_encoder(content)
        maps = [region_at(r, feats[1].shape[-2:]) for r in regions]
        return self.decoder(feats, StyleCode.blend(codes, maps)).clamp(0, 1)

    @torch.no_grad()
    def stylize(self, content: torch.Tensor, style: StyleCode, alpha: float = 1.0, mask: torch.Tensor | None = None,
                tile: int | None = None) -> torch.Tensor:
        """(1, 3, H, W) content in [0, 1] (sides multiples of 4) rendered in ``style`` (the model has no ``mask``).

        ``alpha`` < 1 blends the style code with the content's own code, so alpha 0 gives a near
        reconstruction of the content. (Upstream blends features after AdaIN instead; the decoder only saw
        full-strength filter modulation in training, and that blend gives flat colour fields at alpha 0.5.)

        With ``tile``, the image is processed in tiles of about that many pixels: the encoder, the first
        modulated block and the rest of the decoder are local stages run tile by tile (see :mod:`.tiles`),
        and the two AdaINs between them normalise with the statistics of the whole image's feature maps (at
        1/4 resolution, held whole), so the result equals the untiled one up to float rounding.
        """
        if alpha < 1:
            style = self.blend([style, self.encode_style(content, tile)], [alpha, 1 - alpha])
        if tile is None:
            return self.decoder(self.content_encoder(content), style).clamp(0, 1)
        enc, dec = self.content_encoder, self.decoder
        feats = self._tiled(lambda x: enc(x)[1], content, tile, 1, 4, enc)
        x = self._tiled(lambda x: dec.dec1(x, style.weights[1], style.biases[1]),
                        adain(feats, style.means[1], style.stds[1]), tile, 4, 4, dec.dec1)
        x = self._tiled(lambda x: dec.dec3(dec.dec2(x, style.weights[0], style.biases[0])),
                        adain(x, style.means[0], style.stds[0]), tile, 4, 1, dec.dec2, dec.dec3)
        return x.clamp(0, 1)

    def load_files(self, paths: Mapping[str, str | os.PathLike]) -> MicroAST:
        """Load the four upstream state dicts (content_encoder, style_encoder, modulator, decoder)."""
        for part in ("content_encoder", "style_encoder", "modulator", "decoder"):
            state = torch.load(paths[part], map_location="cpu", weights_only=True)
            getattr(self, part).load_state_dict(state)
        for part in (self.content_encoder, self.style_encoder, self.decoder):  # inference form, same maths
            for layer in part.modules():
                if isinstance(layer, ConvLayer) and layer.conv_layer.groups > 1:
                    layer.conv_layer = dense_equivalent(layer.conv_layer)
        return self.eval().requires_grad_(False)
