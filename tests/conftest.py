"""Shared fixtures: tiny images, the scratch backbone, the repository's sample images, the shipped weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylekit.backbones import load_scratch
from stylekit.feedforward.weights import PACKAGED

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "tests" / "data" / "images"  # public-domain and self-made pictures: see CREDITS.md there


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
def sample_images() -> Path:
    """The repository's sample pictures: portrait.jpg, landscape.jpg and three public-domain paintings."""
    return IMAGES


@pytest.fixture(autouse=True, scope="session")
def _nothing_from_outside(tmp_path_factory):
    """The suite proves stylekit is whole on its own: no user weights folder, and an empty weights cache; what it
    keeps in the user data folder (a server's store, trained models) goes to a folder of its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("STYLEKIT_WEIGHTS_DIR", raising=False)
        patch.setenv("STYLEKIT_CACHE", str(tmp_path_factory.mktemp("empty-cache")))
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("user-data")))
        yield


@pytest.fixture(autouse=True)
def _styles_encoded_anew(monkeypatch):
    """Each test encodes its own styles (the loaded networks stay shared): a test that counts encodings or
    changes how a model encodes sees only its own."""
    from stylekit.devices import LoadedCache
    from stylekit.feedforward import shared

    monkeypatch.setattr(shared, "_CODES", LoadedCache())


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


@pytest.fixture
def weights_dir(monkeypatch) -> Path:
    """The folder of the fast-model weights that ship inside stylekit; no user folder is set."""
    monkeypatch.delenv("STYLEKIT_WEIGHTS_DIR", raising=False)
    return PACKAGED
