"""Built-in example images, free to use: a photo that ships with matplotlib and a painting we generate."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..errors import StylekitError

# Deep blues, turquoise, ochre, yellow and cream: a night-sky palette.
PALETTE = np.array([[16, 32, 84], [28, 62, 140], [52, 108, 178], [88, 160, 196], [150, 196, 200],
                    [232, 204, 96], [246, 226, 140], [250, 244, 214], [30, 44, 40]], dtype=np.float32)


def example_content() -> Path:
    """Path of ``grace_hopper.jpg``, a public-domain U.S. Navy portrait shipped in matplotlib's sample data."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        raise StylekitError("the built-in example needs matplotlib: pip install matplotlib") from None
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        raise StylekitError(f"matplotlib's sample image {path} is missing: reinstall matplotlib")
    return path


def example_photos() -> list[Path]:
    """The built-in example photos (what ``stylekit train`` learns from by default): :func:`example_content` and
    the public-domain and CC0 photos of ``photos/`` (credited in ``photos/CREDITS.md`` there)."""
    return [example_content(), *sorted(Path(__file__).with_name("photos").glob("*.jpg"))]


def _smooth_field(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """A smooth random scalar field in [-1, 1]: a coarse random grid, bicubically upsampled."""
    grid = rng.uniform(0, 255, (cells, cells)).astype(np.uint8)
    return np.asarray(Image.fromarray(grid).resize((size, size), Image.BICUBIC), np.float32) / 127.5 - 1


def example_style(size: int = 512, seed: int = 7) -> Image.Image:
    """A swirling brush-stroke painting, generated deterministically (our own work, free to ship).

    Strokes follow the curl of a smooth random potential, so they curve and eddy; their colours come from a
    night-sky palette picked by a second smooth field.
    """
    rng = np.random.default_rng(seed)
    potential = _smooth_field(rng, size, 7) + 0.5 * _smooth_field(rng, size, 13)
    gy, gx = np.gradient(potential)
    vx, vy = gy, -gx  # curl: divergence-free flow, hence the swirls
    norm = np.hypot(vx, vy) + 1e-6
    vx, vy = vx / norm, vy / norm
    hue = (_smooth_field(rng, size, 5) + 1) / 2
    img = Image.new("RGB", (size, size), tuple(int(c) for c in PALETTE[1]))
    draw = ImageDraw.Draw(img)
    step = size / 160
    for _ in range(size * 9):
        x, y = rng.uniform(0, size, 2)
        idx = int(np.clip(hue[int(y), int(x)] * (len(PALETTE) - 1) + rng.normal(0, 0.8), 0, len(PALETTE) - 1))
        shade = np.clip(PALETTE[idx] * rng.uniform(0.8, 1.15), 0, 255).astype(int)
        width = int(rng.integers(2, max(3, size // 90)))
        points = [(x, y)]
        for _ in range(int(rng.integers(6, 22))):
            ix, iy = int(np.clip(x, 0, size - 1)), int(np.clip(y, 0, size - 1))
            x, y = x + vx[iy, ix] * step * 2.5, y + vy[iy, ix] * step * 2.5
            points.append((x, y))
        draw.line(points, fill=tuple(shade), width=width, joint="curve")
    return img.filter(ImageFilter.SMOOTH)
