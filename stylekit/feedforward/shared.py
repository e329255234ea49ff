"""The fast models by name, and their networks loaded once and shared by every run of the process (each
stylizer, batch, video and web job): decoding the weights takes about as long as stylising a 512 px image."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ..devices import LoadedCache
from .magenta import Magenta, MultiStyle
from .microast import MicroAST
from .model import FastModel
from .trained import Trained
from .wct import WCT

MODELS: dict[str, type[FastModel]] = {"magenta": Magenta, "microast": MicroAST, "wct": WCT,
                                      "multistyle26": MultiStyle,  # the names of the weights registry
                                      "trained": Trained}  # a file of stylekit train
MODELS_KEPT = 4  # networks kept loaded (the least recently used is dropped beyond it); read at each load
CODES_KEPT = 16  # encoded styles kept (a gallery's paintings, the styles a batch or a page uses again)
_LOADED: LoadedCache[FastModel] = LoadedCache()
_CODES: LoadedCache[Any] = LoadedCache()


def load_model(name: str, files: Mapping[str, str | os.PathLike], device: torch.device) -> FastModel:
    """A new network of model ``name`` from its weight ``files``, on ``device``, channels-last."""
    with torch.random.fork_rng(devices=[]):  # layers draw initial weights (overwritten below) from torch's
        net = MODELS[name]()  # global RNG: leave its state as it was
    return net.load_files(files).to(device).to(memory_format=torch.channels_last)


def model_key(name: str, files: Mapping[str, str | os.PathLike], device: torch.device,
              precision: torch.dtype) -> tuple:
    """What a loaded network is kept under: the model, its weight files (each one's path, size and time: a model
    trained again under the same name is loaded anew), the device and the precision."""
    def stamp(path: str | os.PathLike) -> tuple[str, int, int]:
        found = Path(path).resolve()
        info = found.stat()
        return str(found), info.st_size, info.st_mtime_ns

    return (name, tuple(sorted((part, *stamp(path)) for part, path in files.items())), str(device), str(precision))


def styles_key(styles: Sequence[torch.Tensor], *settings: Hashable) -> str:
    """A digest of style images (their pixels and sizes) and the ``settings`` their encoding depends on."""
    digest = hashlib.sha256(repr(settings).encode())
    for style in styles:
        digest.update(repr(tuple(style.shape)).encode())
        digest.update(style.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def shared_codes(key: Hashable, encode: Callable[[], Any]) -> Any:
    """The encoded styles kept under ``key`` (see :func:`model_key`, :func:`styles_key`), else ``encode()``'s:
    a style used again (the same painting on many photos, calls or page jobs) is encoded once. Codes are only
    read by the networks, never changed."""
    return _CODES.get_or_load(key, encode, CODES_KEPT)


def shared_model(name: str, files: Mapping[str, str | os.PathLike], device: torch.device,
                 precision: torch.dtype) -> FastModel:
    """The process's network of model ``name`` from ``files`` (as :func:`~.weights.resolve` finds them) on
    ``device``, for runs in ``precision``: loaded on first use, then shared while it is among the
    :data:`MODELS_KEPT` most recently used. It is frozen (the styles' codes live in each stylizer): never change
    it."""
    return _LOADED.get_or_load(model_key(name, files, device, precision), lambda: load_model(name, files, device),
                               MODELS_KEPT)
