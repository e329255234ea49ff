"""The fast models by name, and their networks loaded once and shared by every run of the process (each
stylizer, batch, video and web job): decoding the weights takes about as long as stylising a 512 px image."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch

from ..devices import LoadedCache
from .magenta import Magenta, MultiStyle
from .microast import MicroAST
from .model import FastModel
from .wct import WCT

MODELS: dict[str, type[FastModel]] = {"magenta": Magenta, "microast": MicroAST, "wct": WCT,
                                      "multistyle26": MultiStyle}  # the names of the weights registry
MODELS_KEPT = 4  # networks kept loaded (the least recently used is dropped beyond it); read at each load
_LOADED: LoadedCache[FastModel] = LoadedCache()


def load_model(name: str, files: Mapping[str, str | os.PathLike], device: torch.device) -> FastModel:
    """A new network of model ``name`` from its weight ``files``, on ``device``, channels-last."""
    with torch.random.fork_rng(devices=[]):  # layers draw initial weights (overwritten below) from torch's
        net = MODELS[name]()  # global RNG: leave its state as it was
    return net.load_files(files).to(device).to(memory_format=torch.channels_last)


def shared_model(name: str, files: Mapping[str, str | os.PathLike], device: torch.device,
                 precision: torch.dtype) -> FastModel:
    """The process's network of model ``name`` from ``files`` (as :func:`~.weights.resolve` finds them) on
    ``device``, for runs in ``precision``: loaded on first use, then shared while it is among the
    :data:`MODELS_KEPT` most recently used. It is frozen (the styles' codes live in each stylizer): never change
    it."""
    key = (name, tuple(sorted((part, str(Path(path).resolve())) for part, path in files.items())), str(device),
           str(precision))
    return _LOADED.get_or_load(key, lambda: load_model(name, files, device), MODELS_KEPT)
