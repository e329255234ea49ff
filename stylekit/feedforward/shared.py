"""The fast models by name, and how a network is loaded from its weight files."""
from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from .magenta import Magenta, MultiStyle
from .microast import MicroAST
from .model import FastModel
from .wct import WCT

MODELS: dict[str, type[FastModel]] = {"magenta": Magenta, "microast": MicroAST, "wct": WCT,
                                      "multistyle26": MultiStyle}  # the names of the weights registry


def load_model(name: str, files: Mapping[str, str | os.PathLike], device: torch.device) -> FastModel:
    """A new network of model ``name`` from its weight ``files``, on ``device``, channels-last."""
    with torch.random.fork_rng(devices=[]):  # layers draw initial weights (overwritten below) from torch's
        net = MODELS[name]()  # global RNG: leave its state as it was
    return net.load_files(files).to(device).to(memory_format=torch.channels_last)
