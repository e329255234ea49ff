"""The memory pre-flight of every optimising method: refusals that name the largest size that fits, before any
image work (the free memory is patched where memory.py looks it up, so nothing big is ever allocated)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from stylekit import devices
from stylekit.cli import main
from stylekit.errors import OutOfMemoryEstimate
from stylekit.methods import deepdream, feature_maps, gatys, inversion, texture_synthesis
from stylekit.planning import memory
from stylekit.planning.memory import Reference, estimate_peak_bytes, preflight
from stylekit.optim import Scale, schedule
from stylekit.options import DreamOptions, FeaturesOptions, InvertOptions, TextureOptions, TransferOptions

GiB = 2**30
STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


class Started(Exception):
    """Raised instead of the optimisation: the pre-flight let the run through."""


@pytest.fixture
def free(monkeypatch):
    """Set the free memory memory.py sees; the optimisations are replaced by a marker that they started."""
    def set_free(nbytes: int) -> None:
        monkeypatch.setattr(memory, "available_memory", lambda device: nbytes)

    def started(*args, **kwargs):
        raise Started

    for module in (gatys, texture_synthesis, inversion, deepdream):
        monkeypatch.setattr(module, "optimize", started)
    set_free(GiB)
    return set_free


RUNS = {
    "transfer": lambda c, s, size: gatys.run_transfer(c, s, TransferOptions(backbone="scratch", size=size)),
    "texture": lambda c, s, size: texture_synthesis.run_texture(s, TextureOptions(backbone="scratch", size=size)),
    "invert": lambda c, s, size: inversion.run_invert(c, InvertOptions(backbone="scratch", size=size)),
    "dream": lambda c, s, size: deepdream.run_dream(c, DreamOptions(backbone="scratch", size=size)),
    "features": lambda c, s, size: feature_maps.run_features(c, FeaturesOptions(backbone="scratch", size=size)),
}


def _suggested(message: str, option: str) -> str:
    """The value a refusal suggests for ``option`` (by field: Python's words; the command line's are tested
    through main)."""
    assert "\n" not in message and "GiB is free on cpu" in message
    found = re.search(rf"use {option} ([\d.x]+) or less$", message)
    assert found, message
    return found.group(1)


@pytest.mark.filterwarnings("ignore:.*would not fit in memory whole")  # the suggested size may need tiles
@pytest.mark.parametrize("method", RUNS)
def test_every_method_refuses_a_size_that_cannot_fit_and_names_one_that_can(method, free, content_path,
                                                                           style_path):
    run = RUNS[method]
    with pytest.raises(OutOfMemoryEstimate) as refused:
        run(content_path, style_path, 3000)
    text = _suggested(str(refused.value), "size")
    size = tuple(int(v) for v in text.split("x"))[::-1] if "x" in text else int(text)
    assert 16 <= (max(size) if isinstance(size, tuple) else size) < 3000
    if method == "features":  # no optimisation to stop: the pass runs (small, scratch network)
        assert run(content_path, style_path, size)
    else:
        with pytest.raises(Started):
            run(content_path, style_path, size)


def test_a_style_scale_that_cannot_fit_names_the_largest_that_can(free, content_path, style_path):
    free(3 * GiB // 2)  # enough for the 512 px content, not for the style image at 16 x 512 px even in tiles
    opts = TransferOptions(backbone="scratch", size=512, style_scale=16)
    with pytest.raises(OutOfMemoryEstimate) as refused:
        gatys.run_transfer(content_path, style_path, opts)
    scale = float(_suggested(str(refused.value), "style_scale"))
    assert 1 < scale < 16
    with pytest.warns(UserWarning, match="px tiles"), pytest.raises(Started):
        gatys.run_transfer(content_path, style_path, TransferOptions(backbone="scratch", size=512, style_scale=scale))


@pytest.mark.filterwarnings("ignore:.*would not fit in memory whole")
def test_a_texture_source_size_that_cannot_fit_names_the_largest_that_can(free, style_path):
    opts = TextureOptions(backbone="scratch", size=128, source_size=30000)
    with pytest.raises(OutOfMemoryEstimate) as refused:
        texture_synthesis.run_texture(style_path, opts)
    source = int(_suggested(str(refused.value), "source_size"))
    assert 512 < source < 30000
    with pytest.raises(Started):
        texture_synthesis.run_texture(style_path, TextureOptions(backbone="scratch", size=128, source_size=source))


def test_the_suggested_size_is_the_largest_that_fits(monkeypatch, scratch):
    layers, cpu = [*STYLE, "relu4_2"], torch.device("cpu")
    monkeypatch.setattr(memory, "available_memory", lambda device: 3 * GiB)

    def check(size: int) -> None:
        preflight(scratch, cpu, layers, schedule((size, size), size, 128, 10), min_size=128, tile=0)

    with pytest.raises(OutOfMemoryEstimate) as refused:
        check(8000)
    n = int(_suggested(str(refused.value), "size"))
    check(n)
    with pytest.raises(OutOfMemoryEstimate):
        check(n + 9)  # the bisection stops within 8 px


def test_nothing_fits_says_so_in_one_line(monkeypatch, scratch):
    monkeypatch.setattr(memory, "available_memory", lambda device: 2**20)
    with pytest.raises(OutOfMemoryEstimate, match="even the smallest size would not fit: free some memory$"):
        preflight(scratch, torch.device("cpu"), STYLE, [Scale((64, 64), 5)])


def test_a_reference_image_counts_and_shrinks_with_its_option(scratch):
    alone = estimate_peak_bytes(scratch, STYLE, (256, 256))
    assert estimate_peak_bytes(scratch, STYLE, (256, 256), references=[(256, 256)]) == alone  # smaller than the steps
    huge = estimate_peak_bytes(scratch, STYLE, (256, 256), references=[(8000, 8000)])
    assert huge > alone + 3 * 8000 * 8000 * 4
    tiled = estimate_peak_bytes(scratch, STYLE, (256, 256), tile=512, references=[(8000, 8000)])
    assert 3 * 8000 * 8000 * 4 < tiled < huge  # in tiles, only the resized image is held whole
    relative = Reference((100, 200), 2.0, "style_scale")
    assert relative.size_at((128, 256), (256, 512)) == (256, 512)  # twice each scale
    absolute = Reference((100, 200), 1000, "source_size", relative=False)
    assert absolute.size_at((256, 512), (256, 512)) == (500, 1000)  # its size at the last scale
    assert absolute.size_at((128, 256), (256, 512)) == (250, 500)  # and in proportion before


def test_a_loss_on_shallow_layers_only_still_counts_the_backward_through_the_first_block(scratch):
    pixels = 2048 * 2048
    shallow = estimate_peak_bytes(scratch, ["relu1_1"], (2048, 2048), "adam")
    assert shallow >= 4 * memory.BACKWARD_FLOOR * 16 * pixels  # 16: scratch's first layer's width


def test_texture_tiles_when_memory_is_short_and_gives_the_same_texture(monkeypatch, style_path, scratch):
    opts = TextureOptions(backbone="scratch", size=192, min_size=None, steps=3, seed=3, early_stopping=False)
    whole = texture_synthesis.run_texture(style_path, opts)
    layers = list(opts.style_layers)
    need_whole = estimate_peak_bytes(scratch, layers, (192, 192), "lbfgs", 3, references=[(48, 48)])
    need_tiled = estimate_peak_bytes(scratch, layers, (192, 192), "lbfgs", 3, 32, references=[(48, 48)])
    assert need_tiled < need_whole
    monkeypatch.setattr(memory, "TILE_SIZES", (32,))
    monkeypatch.setattr(memory, "available_memory", lambda device: (need_whole + need_tiled) // 2)
    with pytest.warns(UserWarning, match="192x192 would not fit in memory whole: computing in 32 px tiles"):
        tiled = texture_synthesis.run_texture(style_path, opts)
    a, b = np.asarray(whole.image, float), np.asarray(tiled.image, float)
    assert np.abs(a - b).mean() < 1.0  # the same optimisation up to float rounding (in 8-bit levels)


def test_the_cli_refuses_in_one_line_and_writes_nothing(monkeypatch, capsys, tmp_path, content_path):
    monkeypatch.setattr(memory, "available_memory", lambda device: GiB)
    out = tmp_path / "o.png"
    assert main(["dream", str(content_path), "--backbone", "scratch", "--size", "20000", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(r"use --size \d+ or less$", err)
    assert not out.exists()


def fake_cgroup(root: Path, proc: Path, version: int, limit: int, usage: int, cache: int) -> None:
    """A cgroup of ``version`` holding this process, with its memory ``limit``, ``usage`` and reclaimable cache."""
    if version == 2:
        proc.write_text("0::/box\n")
        folder = root / "box"
        files = {"memory.max": str(limit), "memory.current": str(usage), "memory.stat": f"inactive_file {cache}\n"}
    else:
        proc.write_text("4:memory:/box\n3:cpuset:/\n")
        folder = root / "memory" / "box"
        files = {"memory.limit_in_bytes": str(limit), "memory.usage_in_bytes": str(usage),
                 "memory.stat": f"cache {cache}\ntotal_inactive_file {cache}\n"}
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)


@pytest.mark.parametrize("version", [1, 2])
def test_free_memory_counts_the_containers_limit(tmp_path, monkeypatch, version):
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(devices, "PROC_CGROUP", tmp_path / "cgroup")
    unbounded = devices.available_memory(cpu)
    fake_cgroup(tmp_path, tmp_path / "cgroup", version, limit=3 * 2**30, usage=2**30 + 2**28, cache=2**28)
    assert devices.available_memory(cpu) == min(unbounded, 2 * 2**30)  # the page cache counts as room
    (tmp_path / "other").mkdir()
    monkeypatch.setattr(devices, "CGROUP_ROOT", tmp_path / "other")  # no such files: the machine's figure
    assert devices.available_memory(cpu) == pytest.approx(unbounded, rel=0.05)


def test_a_run_too_large_for_the_containers_limit_is_refused_in_one_line(tmp_path, monkeypatch, capsys,
                                                                       content_path, style_path):
    monkeypatch.setattr(devices, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(devices, "PROC_CGROUP", tmp_path / "cgroup")
    fake_cgroup(tmp_path, tmp_path / "cgroup", 2, limit=4 * 2**30, usage=2**30, cache=0)  # 3 GiB left
    out = tmp_path / "out.png"
    assert main(["fast", str(content_path), str(style_path), "--model", "wct", "--content-size", "16384",
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "GiB is free on cpu: use --content-size" in err and not out.exists()
