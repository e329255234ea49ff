"""Loaded networks are shared: one fast-model network per (model, weight files, device, precision) and one
backbone per setting, a bounded number kept, never changed by a run."""
from __future__ import annotations

import threading
import time

import pytest
import torch

import stylekit
from stylekit import backbones as backbones_module
from stylekit.backbones import get_backbone
from stylekit.devices import LoadedCache
from stylekit.feedforward import FastStylizer, resolve
from stylekit.feedforward import shared
from stylekit.options import FastOptions

CPU = torch.device("cpu")


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """A fresh shared cache, and the names of the models loaded into it, in order."""
    names: list[str] = []
    original = shared.load_model
    monkeypatch.setattr(shared, "_LOADED", LoadedCache())
    monkeypatch.setattr(shared, "load_model", lambda name, *a: names.append(name) or original(name, *a))
    return names


def test_one_network_per_model_files_device_and_precision(loads):
    net = shared.shared_model("microast", resolve("microast"), CPU, torch.float32)
    assert shared.shared_model("microast", resolve("microast"), CPU, torch.float32) is net
    assert shared.shared_model("microast", resolve("microast"), CPU, torch.bfloat16) is not net
    assert shared.shared_model("magenta", resolve("magenta"), CPU, torch.float32) is not net
    assert loads == ["microast", "microast", "magenta"]


def test_the_least_recently_used_network_is_dropped_beyond_the_bound(loads, monkeypatch):
    monkeypatch.setattr(shared, "MODELS_KEPT", 2)
    files = {model: resolve(model) for model in ("microast", "magenta", "multistyle26")}
    first = shared.shared_model("microast", files["microast"], CPU, torch.float32)
    shared.shared_model("magenta", files["magenta"], CPU, torch.float32)
    assert shared.shared_model("microast", files["microast"], CPU, torch.float32) is first  # now the most recent
    shared.shared_model("multistyle26", files["multistyle26"], CPU, torch.float32)  # drops magenta
    assert shared.shared_model("microast", files["microast"], CPU, torch.float32) is first
    shared.shared_model("magenta", files["magenta"], CPU, torch.float32)
    assert loads == ["microast", "magenta", "multistyle26", "magenta"]


def test_two_fast_calls_with_one_model_load_it_once(loads, content_path, style_path):
    stylekit.fast(content_path, style_path, model="magenta")
    stylekit.fast(style_path, content_path, model="magenta", alpha=0.5)
    stylekit.fast(content_path, style_path, model="microast")
    assert loads == ["magenta", "microast"]


def test_a_run_leaves_the_shared_network_as_it_was(loads, content_path, style_path):
    stylizer = FastStylizer([style_path], FastOptions(model="microast"))
    net = stylizer.net
    state = {k: v.clone() for k, v in net.state_dict().items()}
    attributes, modules = dict(vars(net)), [name for name, _ in net.named_modules()]
    stylizer.opts.alpha = 0.5
    stylizer(torch.rand(1, 3, 40, 52))
    FastStylizer([content_path], FastOptions(model="microast", preserve_color="luminance"))(torch.rand(1, 3, 24, 24))
    assert loads == ["microast"] and vars(net) == attributes and [n for n, _ in net.named_modules()] == modules
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_concurrent_threads_load_a_key_once():
    cache: LoadedCache[object] = LoadedCache()
    calls: list[int] = []

    def slow() -> object:
        calls.append(1)
        time.sleep(0.05)
        return object()

    found: list[object] = []
    threads = [threading.Thread(target=lambda: found.append(cache.get_or_load("key", slow, 4))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(found) == 4 and all(f is found[0] for f in found)


def test_backbones_are_kept_up_to_the_bound(monkeypatch):
    monkeypatch.setattr(backbones_module, "_LOADED", LoadedCache())
    monkeypatch.setattr(backbones_module, "BACKBONES_KEPT", 1)
    first = get_backbone("scratch")
    assert get_backbone("scratch") is first
    other = get_backbone("scratch", "avg")
    assert get_backbone("scratch", "avg") is other
    assert get_backbone("scratch") is not first  # dropped for the avg-pooling one, loaded anew


def test_a_style_used_again_is_encoded_once_and_gives_the_same_result(monkeypatch, content_path, style_path,
                                                                     sample_images):
    encoded: list[int] = []
    original = FastStylizer._encode
    monkeypatch.setattr(FastStylizer, "_encode", lambda self, styles: encoded.append(len(styles)) or
                        original(self, styles))
    first = FastStylizer([style_path], FastOptions(model="wct"))
    again = FastStylizer([style_path], FastOptions(model="wct"))
    assert again._codes is first._codes and encoded == [1]
    content = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(first(content), again(content))
    FastStylizer([style_path], FastOptions(model="wct", levels=3))  # settings the code depends on: encoded anew
    FastStylizer([sample_images / "the_scream.jpg"], FastOptions(model="wct"))  # another picture: anew
    FastStylizer([style_path, style_path], FastOptions(model="wct", style_blend_weights=[1, 2]))
    assert encoded == [1, 1, 1, 2]
