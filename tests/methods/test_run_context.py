"""One run context: shared backbones that no run changes, one backbone per loop, seeding without global state."""
from __future__ import annotations

import dataclasses

import torch

from stylekit import backbones as backbones_module
from stylekit.backbones import load_scratch
from stylekit.devices import LoadedCache
from stylekit.methods.deepdream import run_dream_zoom
from stylekit.methods.gatys import run_transfer
from stylekit.methods.inversion import run_invert_sweep
from stylekit.optim import Callback, ItemProgress
from stylekit.options import DreamOptions, InvertOptions, TransferOptions, ZoomOptions

SMALL = TransferOptions(size=32, steps=2, min_size=None, backbone="scratch", early_stopping=False)


class Items(Callback):
    def __init__(self) -> None:
        self.seen: list[tuple[int, int, str]] = []

    def on_item(self, progress: ItemProgress) -> None:
        self.seen.append((progress.done, progress.total, progress.item))


def test_a_passed_backbone_is_not_changed_by_a_run(content_path, style_path):
    net = load_scratch()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    shallow = dataclasses.replace(SMALL, content_layers=("relu2_1",), style_layers=("relu1_1",))
    run_transfer(content_path, style_path, shallow, backbone=net)
    assert net.layer_names == load_scratch().layer_names  # no truncation after relu2_1
    result = run_transfer(content_path, style_path, SMALL, backbone=net)  # default layers, down to relu5_1
    assert result.image.size == (32, 32)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def _count_loads(monkeypatch) -> list[str]:
    loads: list[str] = []
    original = backbones_module.load_backbone
    monkeypatch.setattr(backbones_module, "_LOADED", LoadedCache())
    monkeypatch.setattr(backbones_module, "load_backbone", lambda name, *a, **k: loads.append(name) or original(
        name, *a, **k))
    return loads


def test_zoom_frames_and_layer_sweeps_load_one_backbone_and_report_each_item(monkeypatch, content_path):
    loads = _count_loads(monkeypatch)
    items = Items()
    frames = run_dream_zoom(content_path, ZoomOptions(zoom_frames=3, frame_steps=1),
                            DreamOptions(size=32, octaves=1, steps=1, backbone="scratch", layer="relu2_1"), [items])
    assert len(frames) == 3 and loads == ["scratch"]
    assert items.seen == [(1, 3, "frame 0"), (2, 3, "frame 1"), (3, 3, "frame 2")]
    sweep = Items()
    results = run_invert_sweep(content_path, InvertOptions(layers=("relu1_1", "relu2_1", "relu3_1"), size=24, steps=2,
                                                           backbone="scratch", seed=0), [sweep])
    assert [r.layer for r in results] == ["relu1_1", "relu2_1", "relu3_1"] and loads == ["scratch"]
    assert [s[:2] for s in sweep.seen] == [(1, 3), (2, 3), (3, 3)]


def test_seeding_uses_the_runs_own_generator_not_torchs_global_one(content_path, style_path):
    noisy = dataclasses.replace(SMALL, init="noise", seed=5)
    state = torch.get_rng_state()
    a = run_transfer(content_path, style_path, noisy)
    b = run_transfer(content_path, style_path, dataclasses.replace(noisy, seed=None))
    assert torch.equal(state, torch.get_rng_state())
    assert a.image.tobytes() == run_transfer(content_path, style_path, noisy).image.tobytes()
    assert a.image.tobytes() != b.image.tobytes()
