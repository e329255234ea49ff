"""--precision: bfloat16 convolutions under autocast with float32 losses, and auto's choice."""
import pytest
import torch

from stylekit import devices, transfer
from stylekit.backbones import load_scratch
from stylekit.errors import StylekitError


def test_bf16_features_are_float32_and_close_to_fp32():
    net = load_scratch()
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(0), requires_grad=True)
    full = net(x, ["relu2_1", "relu3_1"])
    half = net(x, ["relu2_1", "relu3_1"], torch.bfloat16)
    for layer in full:
        assert half[layer].dtype == torch.float32
        scale = full[layer].abs().max()
        assert (half[layer] - full[layer]).abs().max() < 0.05 * scale
        assert not torch.equal(half[layer], full[layer])  # really computed in bfloat16
    half["relu3_1"].sum().backward()
    assert x.grad is not None and x.grad.dtype == torch.float32


def test_auto_uses_bf16_only_on_hardware_that_has_it(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "native_bf16", lambda device: True)
    assert devices.resolve_precision("auto", cpu) == torch.bfloat16
    monkeypatch.setattr(devices, "native_bf16", lambda device: False)
    assert devices.resolve_precision("auto", cpu) == torch.float32
    assert devices.resolve_precision("bf16", cpu) == torch.bfloat16
    assert devices.resolve_precision("fp32", cpu) == torch.float32
    with pytest.raises(StylekitError, match="unknown precision 'fp16'"):
        devices.resolve_precision("fp16", cpu)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_transfer_runs_and_lowers_its_loss_in_each_precision(content_path, style_path, precision):
    _, hist = transfer(content_path, style_path, backbone="scratch", size=48, steps=10, min_size=None, seed=0,
                       early_stopping=False, precision=precision, return_history=True)
    assert hist[-1]["loss"] < 0.7 * hist[0]["loss"]
