"""Feature extractors with named layers; a forward pass stops at the deepest layer asked for."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import StylekitError


class Scale(nn.Module):
    """Multiply the output of a module by a constant (used for rescaled average pooling)."""

    def __init__(self, module: nn.Module, factor: float) -> None:
        super().__init__()
        self.module = module
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x) * self.factor


def make_pool(pooling: str) -> nn.Module:
    """2x2 pooling. Average pooling is scaled by 2 so activations keep the magnitude they have under max
    pooling (Gatys et al. replace max by average pooling; crowsonkb/style-transfer-pytorch rescales it)."""
    if pooling == "max":
        return nn.MaxPool2d(2, ceil_mode=True)
    if pooling == "avg":
        return Scale(nn.AvgPool2d(2, ceil_mode=True), 2.0)
    raise StylekitError(f"unknown pooling {pooling!r}: use 'max' or 'avg'")


class FeatureExtractor(nn.Module):
    """A frozen CNN whose layers have names (``conv1_1``, ``relu4_2``, ``pool3`` ...).

    Images go in as RGB floats in [0, 1], shape (B, 3, H, W); the network's own preprocessing (channel order,
    value range, mean) is applied inside :meth:`forward`. Loaded backbones are shared (see
    :func:`stylekit.backbones.get_backbone`): nothing changes one after it is built.
    """

    def __init__(self, name: str, layers: Sequence[tuple[str, nn.Module]],
                 mean: Sequence[float], std: Sequence[float] = (1.0, 1.0, 1.0),
                 value_range: float = 1.0, bgr: bool = False) -> None:
        super().__init__()
        self.name = name
        self.layers = nn.ModuleDict(layers)
        self.bgr = bgr
        self.value_range = value_range
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()
        self._channels_last()

    def _channels_last(self) -> None:
        for module in self.layers.values():
            if isinstance(module, nn.Conv2d):
                module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last)

    def _apply(self, fn, recurse=True):  # noqa: ANN001 - nn.Module's signature
        """Keep conv weights channels-last through ``.to()`` and ``.cuda()`` (weight loading copies into them)."""
        out = super()._apply(fn, recurse)
        self._channels_last()
        return out

    @property
    def layer_names(self) -> list[str]:
        """All layer names in forward order."""
        return list(self.layers.keys())

    @property
    def keras_names(self) -> dict[str, str]:
        """Keras's names of the layers, to ours: ``block5_conv2`` is ``relu5_2`` (a Keras convolution includes
        its ReLU), ``block3_pool`` is ``pool3``."""
        names = {}
        for name in self.layers:
            if name.startswith("relu"):
                block, conv = name[4:].split("_")
                names[f"block{block}_conv{conv}"] = name
            elif name.startswith("pool"):
                names[f"block{name[4:]}_pool"] = name
        return names

    def layer(self, name: str) -> str:
        """Our name of a layer given by our name or Keras's; a user error listing both spellings otherwise."""
        return self.check_layers([name])[0]

    def check_layers(self, layers: Iterable[str]) -> list[str]:
        """``layers`` by our names (Keras names such as ``block5_conv2`` are accepted), or a user error listing the
        valid names in both spellings."""
        given, keras = list(layers), self.keras_names
        named = [keras.get(name, name) for name in given]
        unknown = [asked for asked, name in zip(given, named) if name not in self.layers]
        if unknown:
            spelled = {ours: theirs for theirs, ours in keras.items()}
            valid = ", ".join(f"{n} ({spelled[n]})" if n in spelled else n for n in self.layer_names)
            raise StylekitError(f"unknown layer {', '.join(map(repr, unknown))} for backbone {self.name}; "
                                f"valid layers: {valid}")
        return named

    def deepest(self, layers: Iterable[str]) -> str:
        """The layer among ``layers`` that comes last in the forward pass (by our name)."""
        order = {name: i for i, name in enumerate(self.layers)}
        return max(self.check_layers(layers), key=order.__getitem__)

    def channels(self, layer: str) -> int:
        """Number of channels the named layer outputs."""
        layer = self.layer(layer)
        count = 3
        for name, module in self.layers.items():
            if isinstance(module, nn.Conv2d):
                count = module.out_channels
            if name == layer:
                break
        return count

    def receptive_field(self, layer: str) -> int:
        """Side, in input pixels, of the window one position of the named layer sees."""
        layer = self.layer(layer)
        field, jump = 1, 1
        for name, module in self.layers.items():
            if isinstance(module, nn.Conv2d):
                field += (module.kernel_size[0] - 1) * jump
            elif name.startswith("pool"):
                field, jump = field + jump, jump * 2
            if name == layer:
                break
        return field

    def stride(self, layer: str) -> int:
        """How many input pixels one position of the named layer spans (2 per pooling before it)."""
        layer = self.layer(layer)
        stride = 1
        for name in self.layers:
            if name.startswith("pool"):
                stride *= 2
            if name == layer:
                break
        return stride

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] to the network's input convention."""
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"expected an image batch of shape (B, 3, H, W), got {tuple(image.shape)}")
        if self.bgr:
            image = image.flip(1)
        return (image * self.value_range - self.mean) / self.std

    def forward(self, image: torch.Tensor, layers: Iterable[str],
                dtype: torch.dtype = torch.float32, wrap: bool = False) -> dict[str, torch.Tensor]:
        """Features at ``layers`` (a dict keyed by the names as given, ours or Keras's); the pass stops at the
        deepest one. With ``dtype`` bfloat16 the layers run under autocast (bfloat16 convolutions, forward and
        backward) and the features come back as float32. With ``wrap`` the convolutions pad circularly, so the
        image is seen as a torus (a tileable texture has no edge); the modules themselves are not changed.

        Convolutions run in channels-last layout (weights converted once): on CPU
        this is about 15% faster for VGG19 at 512 px (benchmarks/step_time.py).
        """
        given = list(layers)
        wanted: dict[str, list[str]] = {}
        for asked, name in zip(given, self.check_layers(given)):
            wanted.setdefault(name, []).append(asked)
        if not wanted:
            return {}
        x = self.preprocess(image).contiguous(memory_format=torch.channels_last)
        out: dict[str, torch.Tensor] = {}
        found = 0
        with torch.autocast(x.device.type, dtype=dtype, enabled=dtype != torch.float32):
            for name, module in self.layers.items():
                x = _wrapped(module, x) if wrap and isinstance(module, nn.Conv2d) else module(x)
                if name in wanted:
                    out.update(dict.fromkeys(wanted[name], x.float()))
                    found += 1
                    if found == len(wanted):
                        break
        return out


def _wrapped(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv`` on ``x`` with circular instead of zero padding."""
    ph, pw = conv.padding if isinstance(conv.padding, tuple) else (conv.padding, conv.padding)
    if not ph and not pw:
        return conv(x)
    return F.conv2d(F.pad(x, (pw, pw, ph, ph), mode="circular"), conv.weight, conv.bias, conv.stride, 0,
                    conv.dilation, conv.groups)
