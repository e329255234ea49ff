"""Feature inversion: the feature distance falls, regularisers act, the sweep; scratch backbone, tiny sizes."""
import numpy as np
from PIL import Image

import stylekit
from stylekit.cli import main
from stylekit.methods.inversion import run_invert
from stylekit.options import InvertOptions


def test_inversion_feature_distance_falls_a_lot(content_path):
    result = run_invert(content_path, InvertOptions(layer="relu2_1", size=32, steps=80, backbone="scratch", seed=0))
    assert result.final_distance < result.initial_distance / 20
    assert result.image.size == (32, 32)


def test_inversion_regularisers_change_result(content_path):
    a = run_invert(content_path, InvertOptions(layer="relu3_1", size=32, steps=20, backbone="scratch", seed=0,
                                               tv_weight=0))
    b = run_invert(content_path, InvertOptions(layer="relu3_1", size=32, steps=20, backbone="scratch", seed=0,
                                               tv_weight=5, beta=1.0))
    rough = lambda img: np.abs(np.diff(np.asarray(img, float), axis=1)).mean()  # noqa: E731
    assert rough(b.image) < rough(a.image)
    assert {"content:relu3_1", "tv", "alpha"} <= set(b.history[0])


def test_invert_sweep_cli(tmp_path, content_path):
    out = tmp_path / "sweep.png"
    code = main(["invert", str(content_path), "--layers", "relu1_1,relu2_1,relu3_1", "--size", "32", "--steps", "5",
                 "--backbone", "scratch", "--seed", "0", "-o", str(out), "-q"])
    assert code == 0
    assert Image.open(out).size[0] == 4 * 32  # original + three layers side by side


def test_invert_keyword_python_api(content_path):
    img, hist = stylekit.invert(content_path, "relu2_1", size=32, steps=3, backbone="scratch", return_history=True)
    assert img.size == (32, 32) and len(hist) == 3
