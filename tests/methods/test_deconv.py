"""The deconvnet (Zeiler & Fergus) and the top activations over a folder."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stylekit import cli
from stylekit.backbones import FeatureExtractor, architecture, layer_names, load_backbone
from stylekit.errors import StylekitError
from stylekit.methods.deconv import (deconv, forward_with_switches, receptive_window, top_images,
                                     unit_projections)
from stylekit.options import DeconvOptions, OptionError, validate

from ..conftest import pattern


def tiny_network() -> FeatureExtractor:
    """conv(3->2, 3x3) relu pool conv(2->2, 3x3) relu, fixed weights, no preprocessing."""
    gen = torch.Generator().manual_seed(3)
    first, second = nn.Conv2d(3, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1)
    with torch.no_grad():
        for conv in (first, second):
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen))
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=gen) * 0.1)
    layers = [("conv1_1", first), ("relu1_1", nn.ReLU()), ("pool1", nn.MaxPool2d(2, ceil_mode=True)),
              ("conv2_1", second), ("relu2_1", nn.ReLU())]
    return FeatureExtractor("tiny", layers, mean=(0.0, 0.0, 0.0))


def transposed_by_hand(signal: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A 3x3 'same' convolution's transpose, written out: each output value spreads back over the 3x3 inputs it
    read, weighted by the filter (the flipped filter, seen from the input)."""
    c_out, h, w = signal.shape
    out = np.zeros((weight.shape[1], h + 2, w + 2))
    for o in range(c_out):
        for y in range(h):
            for x in range(w):
                out[:, y:y + 3, x:x + 3] += signal[o, y, x] * weight[o]
    return out[:, 1:-1, 1:-1]


def test_the_projection_of_one_unit_matches_a_hand_computation_on_a_two_layer_network():
    net = tiny_network()
    image = torch.rand((1, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    w1, w2 = net.layers["conv1_1"].weight.numpy(), net.layers["conv2_1"].weight.numpy()
    with torch.no_grad():
        before_pool = torch.relu(net.layers["conv1_1"](image))[0].numpy()
        features = net(image, ["relu2_1"])["relu2_1"][0].numpy()
    c, y, x = max(((c, y, x) for c in range(2) for y in range(4) for x in range(4)),
                  key=lambda u: features[u])  # the strongest unit
    signal = np.zeros_like(features)
    signal[c, y, x] = features[c, y, x]
    back = np.maximum(transposed_by_hand(np.maximum(signal, 0), w2), 0)  # relu2_1, conv2_1ᵀ, then relu1_1 below
    unpooled = np.zeros_like(before_pool)
    for ch in range(2):  # unpool: each value goes to where its 2x2 window's maximum was
        for py in range(4):
            for px in range(4):
                window = before_pool[ch, 2 * py:2 * py + 2, 2 * px:2 * px + 2]
                dy, dx = np.unravel_index(window.argmax(), (2, 2))
                unpooled[ch, 2 * py + dy, 2 * px + dx] = back[ch, py, px]
    expected = transposed_by_hand(np.maximum(unpooled, 0), w1)
    got = unit_projections(net, image, "relu2_1", [(c, y, x)])[0].numpy()
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layer", ["relu2_1", "relu3_1", "pool2"])
def test_a_single_activation_projects_only_into_its_receptive_field(scratch, layer):
    image = torch.from_numpy(pattern(96)).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        features = scratch(image, [layer])[layer]
    h, w = features.shape[-2:]
    for y, x in ((h // 2, w // 2), (1, 2), (h - 1, 0)):
        channel = int(features[0, :, y, x].argmax())
        projection = unit_projections(scratch, image, layer, [(channel, y, x)])[0]
        top, left, bottom, right = receptive_window(scratch, layer, y, x)
        inside = torch.zeros_like(projection, dtype=torch.bool)
        inside[:, max(0, top):bottom, max(0, left):right] = True
        assert projection[~inside].abs().max() == 0, (layer, y, x)
        assert projection[inside].abs().max() > 0, (layer, y, x)
        assert bottom - top == scratch.receptive_field(layer)


def test_deconv_draws_each_channel_beside_its_patch_and_refuses_average_pooling(scratch):
    image = Image.fromarray(pattern(64))
    result = deconv(image, layer="relu3_1", channels=[0, 5, 7], size=64, backbone="scratch")
    assert [u[0] for u in result.units] == [0, 5, 7] and result.projections.shape == (3, 3, 64, 64)
    assert result.sheet.width > 2 * 64 and result.sheet.mode == "RGB"
    strongest = deconv(image, layer="relu3_1", top=4, size=64, backbone="scratch")
    values = [u[3] for u in strongest.units]
    assert len(values) == 4 and values == sorted(values, reverse=True)
    with pytest.raises(OptionError, match="pooling must be max, not avg"):
        validate(DeconvOptions(pooling="avg"))
    with pytest.raises(StylekitError, match="channel 99 is out of range for relu3_1, which has 48 channels"):
        deconv(image, layer="relu3_1", channels=[99], size=64, backbone="scratch")
    with pytest.raises(StylekitError, match="max pooling"):
        forward_with_switches(load_backbone("scratch", pooling="avg"), torch.rand(1, 3, 32, 32), "relu2_1")


def test_top_images_finds_the_image_built_to_excite_a_channel(tmp_path, scratch, capsys):
    weight = scratch.layers["conv1_1"].weight[4].detach().numpy()  # channel 4's 3x3 filter over RGB
    ys, xs = np.mgrid[0:48, 0:48]
    built = np.where(weight[:, ys % 3, xs % 3] > 0, 1.0, 0.0).transpose(1, 2, 0)  # its sign pattern, tiled
    Image.fromarray((built * 255).astype(np.uint8)).save(tmp_path / "built.png")
    rng = np.random.default_rng(0)
    for i in range(5):
        calm = 0.5 + rng.uniform(-0.05, 0.05, (48, 48, 3))
        Image.fromarray((calm * 255).astype(np.uint8)).save(tmp_path / f"calm{i}.png")
    (tmp_path / "broken.jpg").write_bytes(b"not a picture")
    result = top_images(tmp_path, layer="relu1_1", channels="4,5", k=2, size=48, backbone="scratch")
    assert result.hits[4][0].name == "built.png" and len(result.hits[4]) == 2
    assert result.scanned == 7 and len(result.skipped) == 1 and "broken.jpg" in result.skipped[0]
    assert result.sheet is not None
    code = cli.main(["top-images", str(tmp_path), "--layer", "relu1_1", "--channels", "3-5", "--k", "2",
                     "--size", "48", "--backbone", "scratch", "-o", str(tmp_path / "sheet.png")])
    err = capsys.readouterr().err
    assert code == 0 and "skipped broken.jpg" in err and "7 images scanned, 1 skipped" in err
    assert Image.open(tmp_path / "sheet.png").width > 0


def test_top_images_takes_several_separate_regions_per_image(tmp_path, scratch):
    rng = np.random.default_rng(1)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(tmp_path / f"noise{i}.png")
    result = top_images(tmp_path, layer="relu2_1", channels="0,7", k=9, size=96, backbone="scratch")
    apart = -(-scratch.receptive_field("relu2_1") // (2 * scratch.stride("relu2_1")))
    for channel in (0, 7):
        hits = result.hits[channel]
        assert len(hits) == 9 and len({h.name for h in hits}) <= 4  # 9 regions from 4 images
        assert [h.value for h in hits] == sorted((h.value for h in hits), reverse=True)
        for a in hits:  # two regions of one image overlap by at most half their receptive fields
            for b in hits:
                if a is not b and a.name == b.name:
                    assert abs(a.y - b.y) >= apart or abs(a.x - b.x) >= apart
    one_each = top_images(tmp_path, layer="relu2_1", channels="0", k=9, size=96, backbone="scratch", per_image=1)
    assert len(one_each.hits[0]) == 4


def test_the_commands_write_their_sheets_and_refuse_bad_input(tmp_path, content_path, capsys):
    out = tmp_path / "deconv.png"
    assert cli.main(["deconv", str(content_path), "--layer", "relu2_1", "--channels", "0-3", "--size", "48",
                     "--backbone", "scratch", "-o", str(out)]) == 0 and out.is_file()
    assert cli.main(["deconv", str(content_path), "--pooling", "avg", "--backbone", "scratch",
                     "-o", str(tmp_path / "x.png")]) == 2
    assert "--pooling must be max" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
    assert cli.main(["top-images", str(content_path), "-o", str(tmp_path / "y.png")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert cli.main(["deconv", str(content_path), "--channels", "4-1", "-o", str(tmp_path / "z.png")]) == 2
    assert "ranges such as 0-15" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["vgg19", "vgg16", "scratch"])
def test_layer_names_without_weights_match_the_built_networks(name):
    if name == "vgg16":  # its weights (torchvision's) do not ship: the layers built without them, 13 convs + 5 pools
        assert layer_names(name) == architecture(name).layer_names and len(layer_names(name)) == 31
    else:
        assert layer_names(name) == load_backbone(name, allow_download=False).layer_names


def test_many_unreadable_files_are_summed_up_in_one_line(tmp_path, capsys):
    for i in range(40):
        (tmp_path / f"junk{i:02d}.jpg").write_bytes(b"not a picture")
    code = cli.main(["top-images", str(tmp_path), "--layer", "relu1_1", "--channels", "1", "--k", "1",
                     "--size", "32", "--backbone", "scratch", "-o", str(tmp_path / "sheet.png"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "none of the 40 files" in err, err
    assert "junk00.jpg, junk01.jpg, junk02.jpg and 37 more" in err
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(tmp_path / "good.png")
    assert cli.main(["top-images", str(tmp_path), "--layer", "relu1_1", "--channels", "1", "--k", "1",
                     "--size", "32", "--backbone", "scratch", "-o", str(tmp_path / "sheet.png"), "-q"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "skipped 40 files that could not be read as images: junk00.jpg" in err, err
