"""Feature maps: channel choice and order, the grid figures, the features command; scratch backbone, tiny sizes."""
import numpy as np
from PIL import Image

from stylekit.cli import main
from stylekit.methods.feature_maps import feature_figures, features


def test_feature_maps_channels_and_order(content_path):
    maps = features(content_path, ["relu1_1", "relu2_1"], channels=5, order="mean", size=32, backbone="scratch")
    assert maps["relu1_1"].maps.shape == (5, 32, 32) and maps["relu2_1"].maps.shape == (5, 16, 16)
    means = maps["relu2_1"].maps.mean((1, 2))
    assert list(means) == sorted(means, reverse=True)
    assert features(content_path, ["relu1_1"], channels=3, size=32, backbone="scratch")["relu1_1"].channels == [0, 1, 2]
    assert len(features(content_path, ["relu1_1"], channels=500, size=32, backbone="scratch")["relu1_1"].channels) == 16


def test_feature_grid_panels_and_color_scale(content_path):
    maps = features(content_path, ["relu1_1", "relu3_1"], channels=6, size=32, backbone="scratch")
    (sheet,) = feature_figures(maps, "shared")
    images = [im for ax in sheet.get_axes() for im in ax.get_images()]
    assert len(images) == 12
    relu1 = images[:6]
    assert len({im.get_clim() for im in relu1}) == 1
    per_map = [im for ax in feature_figures(maps, "per-map")[0].get_axes() for im in ax.get_images()]
    assert len({im.get_clim() for im in per_map[:6]}) > 1
    figs = feature_figures(maps, per_layer=True)
    assert len(figs) == 2 and [len(f.get_axes()) >= 6 for f in figs] == [True, True]


def test_features_cli(tmp_path, content_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["features", str(content_path), "--layers", "relu1_1,relu2_1", "--channels", "4", "--size", "32",
                 "--backbone", "scratch", "-o", str(out), "-q"]) == 0
    assert Image.open(out).size[0] > 100
    assert main(["features", str(content_path), "--layers", "relu1_1,relu2_1", "--per-layer", "--size", "32",
                 "--backbone", "scratch", "-o", str(out), "-q"]) == 0
    assert (tmp_path / "grid_relu1_1.png").is_file() and (tmp_path / "grid_relu2_1.png").is_file()
    assert main(["features", str(content_path), "--layers", "relu7_1", "--backbone", "scratch", "-o", str(out)]) == 2
    assert "valid layers" in capsys.readouterr().err


def test_feature_grids_take_a_colour_map_and_an_exact_square_size(tmp_path, content_path):
    out = tmp_path / "grey.png"
    assert main(["features", str(content_path), "--backbone", "scratch", "--layers", "block1_pool,block2_pool",
                 "--size", "40x40", "--cmap", "gray", "--channels", "4", "-o", str(out), "-q"]) == 0
    pixels = np.asarray(Image.open(out).convert("RGB"), int)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()  # no colour
    assert main(["features", str(content_path), "--backbone", "scratch", "--cmap", "rainbowish", "-o",
                 str(tmp_path / "x.png"), "-q"]) == 2


def test_the_seed004_figure_is_one_flag(tmp_path, content_path, capsys):
    from stylekit import cli

    out = tmp_path / "maps.png"
    assert cli.main(["features", str(content_path), "--figure", "seed004", "--backbone", "scratch", "-o",
                     str(out)]) == 0
    written = sorted(p.name for p in tmp_path.glob("maps_*.png"))
    assert written == [f"maps_pool{i}.png" for i in range(1, 6)]  # model.layers[i+1], ixs 2, 5, 10, 15, 20
    # a flag that differs from the default overrides the figure's setting
    assert cli.main(["features", str(content_path), "--figure", "seed004", "--layers", "pool2", "--channels", "4",
                     "--backbone", "scratch", "-o", str(tmp_path / "few.png")]) == 0
    assert [p.name for p in tmp_path.glob("few_*.png")] == ["few_pool2.png"]
