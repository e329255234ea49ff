"""Helpers shared by the benchmark scripts (not part of the package)."""
from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import torch

from stylekit.backbones import FeatureExtractor, get_backbone
from stylekit.io import fit_long_side, load_image, resize
from stylekit.objectives import gram_matrix

IMAGES = Path(os.environ.get("STYLEKIT_IMAGES_DIR", Path(__file__).resolve().parents[2] / "shared" / "images"))
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"


def bare_pass_seconds(size: tuple[int, int], repeats: int = 3, net: FeatureExtractor | None = None) -> float:
    """Best time of one forward+backward (gradient w.r.t. the input only) of the VGG19 layers a default
    transfer uses (to relu5_1) at ``size`` (h, w): the machine's physical floor for one step."""
    net = net or get_backbone("vgg19")
    layers = [CONTENT_LAYER, *STYLE_LAYERS]
    x = torch.rand(1, 3, *size, requires_grad=True)
    best = float("inf")
    for _ in range(repeats + 1):
        start = time.perf_counter()
        feats = net(x, layers)
        sum(f.sum() for f in feats.values()).backward()
        best = min(best, time.perf_counter() - start)
    return best


@torch.no_grad()
def referee(output: str | Path, content: str | Path, style: str | Path, size: int = 512) -> tuple[float, float]:
    """The fixed referee score of an output image: (content distance, style distance) on VGG19 (original
    weights) at ``size`` px long side. Content: mean squared difference at relu4_2 over the mean square of
    the content's features. Style: sum over relu1_1..relu5_1 of ‖G(out)−G(style)‖²/‖G(style)‖², G = F·Fᵀ/(C·H·W)."""
    net = get_backbone("vgg19")

    def feats(path: str | Path) -> dict[str, torch.Tensor]:
        img = load_image(path).rgb
        return net(resize(img, fit_long_side(*img.shape[-2:], size)), [CONTENT_LAYER, *STYLE_LAYERS])

    out, con, sty = feats(output), feats(content), feats(style)
    c_out, c_ref = out[CONTENT_LAYER], con[CONTENT_LAYER]
    if c_out.shape != c_ref.shape:  # an output of another aspect: compare at the content's grid
        c_out = torch.nn.functional.interpolate(c_out, size=c_ref.shape[-2:], mode="bilinear")
    content_distance = float((c_out - c_ref).pow(2).mean() / c_ref.pow(2).mean())
    style_distance = 0.0
    for layer in STYLE_LAYERS:
        g_out, g_sty = gram_matrix(out[layer], "chw"), gram_matrix(sty[layer], "chw")
        style_distance += float((g_out - g_sty).pow(2).sum() / g_sty.pow(2).sum())
    return content_distance, style_distance


def pairs(folder: Path, count: int | None = None) -> list[tuple[Path, Path]]:
    """Ordered (content, style) pairs of the images in ``folder``: every image with every other (20 for five
    images), or ``count`` of them, each image once as the content with the next as the style."""
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if count is not None:
        return [(images[i % len(images)], images[(i + 1) % len(images)]) for i in range(count)]
    return [(a, b) for a in images for b in images if a != b]


def call(url: str, path: str, data: bytes | None = None, method: str = "GET") -> dict:
    """One request to a stylekit server (``url``) and its JSON answer."""
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def post(url: str, path: str, body: object) -> dict:
    """``body`` sent as JSON, and the JSON answer."""
    return call(url, path, json.dumps(body).encode(), "POST")


def finished(url: str, job: dict, session: str) -> dict:
    """``job`` once it has ended, polled as often as the page hears from its socket."""
    while job["state"] not in ("done", "failed", "cancelled"):
        time.sleep(0.1)
        job = call(url, f"/api/jobs/{job['id']}?session={session}")
    return job
