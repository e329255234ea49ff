"""Weights out of ONNX files, read with a small reader of their protobuf encoding (the fields weights need:
the graph's nodes and initializers; no runtime, and not the ``onnx`` package, whose import alone took 0.6 s of
a 2.7-s ``stylekit fast``): float initializers as they are, quantised ones (int8 weights, int32 biases)
dequantised with the scale and zero point of the ``DequantizeLinear`` node that reads them."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import StylekitError

# TensorProto.DataType codes this reader decodes, and their numpy types (little-endian, as ONNX stores them)
DTYPES = {1: "<f4", 2: "u1", 3: "i1", 4: "<u2", 5: "<i2", 6: "<i4", 7: "<i8", 10: "<f2", 11: "<f8", 12: "<u4",
          13: "<u8"}


class _Damaged(Exception):
    """The bytes are not the protobuf encoding the reader expects."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Damaged
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a message: an int for varints and fixed-width fields, bytes for the others."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        else:
            raise _Damaged
        if pos > len(data):
            raise _Damaged
        yield number, value


def _ints(value: int | bytes, signed: bool = True) -> list[int]:
    """A repeated integer field's values: one varint, or a packed run of them (two's complement when signed)."""
    if isinstance(value, int):
        values = [value]
    else:
        values, pos = [], 0
        while pos < len(value):
            number, pos = _varint(value, pos)
            values.append(number)
    return [v - (1 << 64) if signed and v >= 1 << 63 else v for v in values]


@dataclass
class _Node:
    op_type: str = ""
    input: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    attributes: dict[str, int] = field(default_factory=dict)  # the integer attributes (axis)


def _tensor(data: bytes) -> tuple[str, np.ndarray]:
    name, dims, dtype, raw = "", [], 1, None
    floats, int32s, int64s, doubles = [], [], [], []
    for number, value in _fields(data):
        if number == 1:
            dims += _ints(value)
        elif number == 2:
            dtype = int(value)  # type: ignore[arg-type]
        elif number == 8:
            name = bytes(value).decode()  # type: ignore[arg-type]
        elif number == 9:
            raw = value
        elif number == 4:
            floats.append(np.frombuffer(value, "<f4") if isinstance(value, bytes)
                          else np.array([value], "<u4").view("<f4"))
        elif number == 5:
            int32s += _ints(value)
        elif number == 7:
            int64s += _ints(value)
        elif number == 10:
            doubles.append(np.frombuffer(value, "<f8") if isinstance(value, bytes)
                           else np.array([value], "<u8").view("<f8"))
    if dtype not in DTYPES:
        raise _Damaged
    if raw is not None:
        array = np.frombuffer(raw, DTYPES[dtype])  # type: ignore[arg-type]
    elif dtype == 1:
        array = np.concatenate(floats) if floats else np.zeros(0, "<f4")
    elif dtype == 11:
        array = np.concatenate(doubles) if doubles else np.zeros(0, "<f8")
    elif dtype in (7, 13):
        array = np.array(int64s, DTYPES[dtype])
    else:  # int32_data holds the 8-, 16- and 32-bit integer types
        array = np.array(int32s, np.int64).astype(DTYPES[dtype])
    return name, array.reshape(dims).copy()


def _node(data: bytes) -> _Node:
    node = _Node()
    for number, value in _fields(data):
        if number == 1:
            node.input.append(bytes(value).decode())  # type: ignore[arg-type]
        elif number == 2:
            node.output.append(bytes(value).decode())  # type: ignore[arg-type]
        elif number == 4:
            node.op_type = bytes(value).decode()  # type: ignore[arg-type]
        elif number == 5:
            attribute = dict(_fields(value))  # type: ignore[arg-type]
            if 1 in attribute and 3 in attribute:  # name and an integer value
                node.attributes[bytes(attribute[1]).decode()] = _ints(attribute[3])[0]  # type: ignore[arg-type]
    return node


@dataclass
class _Graph:
    nodes: list[_Node]
    initializers: dict[str, np.ndarray]


def _model(path: str | os.PathLike) -> _Graph:
    """The graph of an ONNX file (ModelProto field 7): its nodes (field 1) and initializers (field 5)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        graph = next((value for number, value in _fields(data) if number == 7), None)
        if not isinstance(graph, bytes):
            raise _Damaged
        nodes, tensors = [], {}
        for number, value in _fields(graph):
            if number == 1:
                nodes.append(_node(value))  # type: ignore[arg-type]
            elif number == 5:
                name, array = _tensor(value)  # type: ignore[arg-type]
                tensors[name] = array
        return _Graph(nodes, tensors)
    except (_Damaged, UnicodeDecodeError, ValueError, OSError) as exc:
        reason = f" ({exc})" if str(exc) else ""
        raise StylekitError(f"{path} is not a readable ONNX file{reason}: delete it and provide it again") from None


def _dequantized(model: _Graph) -> dict[str, np.ndarray]:
    """Every initializer as float32, and the output name of each ``DequantizeLinear`` of an initializer mapped
    to the dequantised array: (q - zero_point) * scale, per channel along the node's axis."""
    raw = model.initializers
    out = {name: a.astype(np.float32) for name, a in raw.items()}
    for node in model.nodes:
        if node.op_type != "DequantizeLinear" or node.input[0] not in raw:
            continue
        q, scale = raw[node.input[0]], raw[node.input[1]].astype(np.float64)
        zero = raw[node.input[2]].astype(np.float64) if len(node.input) > 2 and node.input[2] else 0.0
        if np.ndim(scale):
            shape = [1] * q.ndim
            shape[node.attributes.get("axis", 1)] = -1
            scale, zero = scale.reshape(shape), np.reshape(zero, shape) if np.ndim(zero) else zero
        value = ((q.astype(np.float64) - zero) * scale).astype(np.float32)
        out[node.input[0]] = out[node.output[0]] = value
    return out


def initializers(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The file's initializers by name, as float32 tensors (quantised ones dequantised)."""
    model = _model(path)
    return {k: torch.from_numpy(v) for k, v in _dequantized(model).items() if k in model.initializers}


def conv_layers(path: str | os.PathLike) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of every ``Conv`` node whose weight is an initializer, keyed by that initializer's scope
    (its name up to the last ``/``: ``transformer/contract/conv1`` for ``transformer/contract/conv1/weights``);
    a convolution without a bias gets zeros."""
    model = _model(path)
    values = _dequantized(model)
    source = {n.output[0]: n.input[0] for n in model.nodes if n.op_type == "DequantizeLinear"}
    layers = {}
    for node in model.nodes:
        if node.op_type != "Conv" or node.input[1] not in values:
            continue
        weight = torch.from_numpy(values[node.input[1]])
        bias = (torch.from_numpy(values[node.input[2]]) if len(node.input) > 2 and node.input[2]
                else torch.zeros(weight.shape[0]))
        layers[source.get(node.input[1], node.input[1]).rsplit("/", 1)[0]] = (weight, bias)
    return layers
