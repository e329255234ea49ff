"""Weights out of ONNX files, read with the ``onnx`` package (no runtime): float initializers as they are,
quantised ones (int8 weights, int32 biases) dequantised with the scale and zero point of the
``DequantizeLinear`` node that reads them."""
from __future__ import annotations

import os

import numpy as np
import torch

from ..errors import StylekitError


def _model(path: str | os.PathLike):
    try:
        import onnx
    except ImportError:
        raise StylekitError("reading the Magenta weights needs the onnx package: pip install onnx") from None
    try:
        return onnx.load(os.fspath(path))
    except Exception as exc:  # onnx raises DecodeError, OSError, ... for a damaged file
        raise StylekitError(f"{path} is not a readable ONNX file ({exc}): delete it and provide it again") from None


def _dequantized(model) -> dict[str, np.ndarray]:
    """Every initializer as float32, and the output name of each ``DequantizeLinear`` of an initializer mapped
    to the dequantised array: (q - zero_point) * scale, per channel along the node's axis."""
    from onnx import helper, numpy_helper

    raw = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    out = {name: a.astype(np.float32) for name, a in raw.items()}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in raw:
            continue
        q, scale = raw[node.input[0]], raw[node.input[1]].astype(np.float64)
        zero = raw[node.input[2]].astype(np.float64) if len(node.input) > 2 and node.input[2] else 0.0
        if np.ndim(scale):
            axis = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 1)
            shape = [1] * q.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), np.reshape(zero, shape) if np.ndim(zero) else zero
        value = ((q.astype(np.float64) - zero) * scale).astype(np.float32)
        out[node.input[0]] = out[node.output[0]] = value
    return out


def initializers(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The file's initializers by name, as float32 tensors (quantised ones dequantised)."""
    model = _model(path)
    names = {t.name for t in model.graph.initializer}
    return {k: torch.from_numpy(v) for k, v in _dequantized(model).items() if k in names}


def conv_layers(path: str | os.PathLike) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of every ``Conv`` node whose weight is an initializer, keyed by that initializer's scope
    (its name up to the last ``/``: ``transformer/contract/conv1`` for ``transformer/contract/conv1/weights``);
    a convolution without a bias gets zeros."""
    model = _model(path)
    values = _dequantized(model)
    source = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    layers = {}
    for node in model.graph.node:
        if node.op_type != "Conv" or node.input[1] not in values:
            continue
        weight = torch.from_numpy(values[node.input[1]])
        bias = (torch.from_numpy(values[node.input[2]]) if len(node.input) > 2 and node.input[2]
                else torch.zeros(weight.shape[0]))
        layers[source.get(node.input[1], node.input[1]).rsplit("/", 1)[0]] = (weight, bias)
    return layers
