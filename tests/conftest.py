"""Shared fixtures: tiny images, the scratch backbone, the shared test images folder."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylekit.backbones import load_scratch

REPO = Path(__file__).resolve().parents[1]
IMAGES = Path(os.environ.get("STYLEKIT_IMAGES_DIR", REPO.parent / "shared" / "images"))


def pattern(size: int = 48, seed: int = 0, kind: str = "content") -> np.ndarray:
    """A small deterministic RGB uint8 test image: smooth shapes (content) or stripes (style)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    if kind == "content":
        r = np.clip(1.2 - 2.5 * np.hypot(x - 0.5, y - 0.45), 0, 1)
        g, b = x, 1 - y
    else:
        r = 0.5 + 0.5 * np.sin(22 * x + 9 * y)
        g = 0.5 + 0.5 * np.sin(17 * y)
        b = rng.uniform(0, 1, (size, size))
    return (np.stack([r, g, b], -1) * 255).astype(np.uint8)


def bomb(path: Path) -> None:
    """A decompression bomb: a PNG whose header says 30000x30000 (about 100 kB on disk)."""
    Image.new("1", (30000, 30000)).save(path)


@pytest.fixture
def content_path(tmp_path: Path) -> Path:
    path = tmp_path / "content.png"
    Image.fromarray(pattern(48, 0, "content")).save(path)
    return path


@pytest.fixture
def style_path(tmp_path: Path) -> Path:
    path = tmp_path / "style.png"
    Image.fromarray(pattern(48, 1, "style")).save(path)
    return path


@pytest.fixture
def scratch():
    return load_scratch()


@pytest.fixture
def shared_images() -> Path:
    if not (IMAGES / "tubingen.jpg").is_file():
        pytest.skip(f"shared test images not found in {IMAGES} (set STYLEKIT_IMAGES_DIR)")
    return IMAGES


@pytest.fixture(autouse=True)
def _few_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device"))])
def device(request) -> torch.device:
    """Each device the pure functions are checked on: the CPU, and CUDA where there is one."""
    return torch.device(request.param)


WEIGHTS = Path(os.environ.get("STYLEKIT_WEIGHTS_DIR", REPO.parent / "shared" / "weights"))


@pytest.fixture
def weights_dir(monkeypatch) -> Path:
    """The fast models' weights folder (../shared/weights or $STYLEKIT_WEIGHTS_DIR), exported for the code."""
    if not (WEIGHTS / "microast").is_dir():
        pytest.skip(f"fast-model weights not found in {WEIGHTS} (set STYLEKIT_WEIGHTS_DIR)")
    monkeypatch.setenv("STYLEKIT_WEIGHTS_DIR", str(WEIGHTS))
    return WEIGHTS
