"""Keras's VGG16/VGG19 weight files (``.h5``, as keras.applications downloads them) as stylekit state dicts."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import StylekitError
from .vgg_layout import CHANNELS, CONFIGS

if TYPE_CHECKING:
    import h5py

KERAS_WEIGHTS_URLS = {
    "vgg16": "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
             "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg19": "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
             "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
}
_CONV = re.compile(r"block\d+_conv\d+")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _conv_shapes(arch: str) -> dict[str, tuple[str, list[tuple[int, ...]]]]:
    """Keras name -> (our name, [HWIO kernel shape, bias shape]) of each convolution, in order."""
    shapes: dict[str, tuple[str, list[tuple[int, ...]]]] = {}
    in_ch = 3
    for b, (n_conv, out_ch) in enumerate(zip(CONFIGS[arch], CHANNELS), start=1):
        for c in range(1, n_conv + 1):
            shapes[f"block{b}_conv{c}"] = (f"conv{b}_{c}", [(3, 3, in_ch, out_ch), (out_ch,)])
            in_ch = out_ch
    return shapes


def _keras_layers(f: h5py.File) -> dict[str, list[h5py.Dataset]] | None:
    """Layer name -> its weight datasets in Keras's order (kernel, bias); None if ``f`` has neither layout.

    Keras 2 / tf.keras (``save_weights``, keras.applications files, or ``model_weights`` of a whole-model
    file): root attribute ``layer_names``, each layer's attribute ``weight_names``. Keras 3 ``.weights.h5``:
    ``layers/<name>/vars/<i>``.
    """
    import h5py

    root = f["model_weights"] if "model_weights" in f else f
    if "layer_names" in root.attrs:
        groups = {_text(name): root[_text(name)] for name in root.attrs["layer_names"]}
        return {name: [g[_text(w)] for w in g.attrs.get("weight_names", ())] for name, g in groups.items()}
    if isinstance(f.get("layers"), h5py.Group):
        groups = {name: g for name, g in f["layers"].items() if isinstance(g, h5py.Group)}
        return {name: [g["vars"][i] for i in sorted(g["vars"], key=int)] if "vars" in g else []
                for name, g in groups.items()}
    return None


def keras_vgg_state(arch: str, path: Path) -> dict[str, torch.Tensor]:
    """Read a Keras VGG weight file to a ``{conv{b}_{c}.weight/.bias: tensor}`` state dict (OIHW kernels).

    The fully connected layers of a with-top file are ignored. Keras's VGGs expect Caffe preprocessing
    (BGR, 0-255, ImageNet mean subtracted).
    """
    try:
        import h5py
    except ImportError:
        raise StylekitError("reading Keras .h5 weights needs h5py: run 'pip install h5py'") from None
    url = KERAS_WEIGHTS_URLS[arch]
    name = f"Keras {arch.upper()}"
    instead = f"pass {url.rsplit('/', 1)[1]} (from {url})"
    path = Path(path).expanduser()
    if not path.is_file():
        raise StylekitError(f"weight file {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise StylekitError(f"{path} is not an HDF5 file ({exc}): {instead}") from None
    state: dict[str, torch.Tensor] = {}
    try:
        with f:
            layers = _keras_layers(f)
            if layers is None:
                raise StylekitError(f"{path} is not a Keras weight file (no layer_names attribute and no layers "
                                    f"group): {instead}")
            expected = _conv_shapes(arch)
            for layer in expected:
                if layer not in layers:
                    raise StylekitError(f"{path} is not a {name} weight file (no layer {layer}): {instead}")
            extra = sorted(n for n in layers if _CONV.fullmatch(n) and n not in expected)
            if extra:
                raise StylekitError(f"{path} is not a {name} weight file (it has a layer {extra[0]}, which "
                                    f"{arch.upper()} lacks): {instead}")
            for layer, (ours, want) in expected.items():
                shapes = [tuple(ds.shape) for ds in layers[layer]]
                if shapes != want:
                    raise StylekitError(f"{path} does not fit {name}: layer {layer} has weights of shapes {shapes}, "
                                        f"expected {want} (channels-last kernels): {instead}")
                kernel, bias = (torch.from_numpy(np.asarray(ds, dtype=np.float32)) for ds in layers[layer])
                state[f"{ours}.weight"] = kernel.permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW
                state[f"{ours}.bias"] = bias
    except (KeyError, OSError, ValueError) as exc:
        raise StylekitError(f"cannot read Keras weight file {path}: {exc}") from None
    return state
