import hashlib

import pytest
import torch

from stylekit.backbones import get_backbone, load_backbone, load_scratch
from stylekit.backbones import vgg as vggmod
from stylekit.errors import StylekitError
from stylekit.io.downloads import sha256_of
from stylekit.options import LayersOptions, cli_flags

VGG19_NAMES_HEAD = ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1"]
DECODED_SHA256 = "056807db17e562d80e7c10b0151a41fd1780e99d4aa42a1a5c6535445f26b910"


def test_vgg19_layer_names():
    names = [n for n, _ in vggmod.vgg_layers("vgg19", "max")]
    assert names[:6] == VGG19_NAMES_HEAD
    assert len(names) == 16 * 2 + 5
    assert names[-1] == "pool5" and "relu5_4" in names and "relu4_2" in names
    vgg16 = [n for n, _ in vggmod.vgg_layers("vgg16", "max")]
    assert len(vgg16) == 13 * 2 + 5 and "conv3_4" not in vgg16


def test_forward_stops_at_deepest_layer_and_never_changes_the_network(scratch):
    called = []
    for name, module in scratch.layers.items():
        module.register_forward_hook(lambda m, i, o, name=name: called.append(name))
    feats = scratch(torch.rand(1, 3, 32, 32), ["relu2_1", "relu1_1"])
    assert set(feats) == {"relu1_1", "relu2_1"}
    assert called[-1] == "relu2_1"
    assert feats["relu2_1"].shape == (1, 32, 16, 16)
    assert scratch.layer_names[-1] == "pool5" and not hasattr(scratch, "truncate")


def test_shared_backbones_are_loaded_once_per_setting():
    a = get_backbone("scratch")
    assert get_backbone("scratch", "max", None, "cpu") is a
    assert get_backbone("scratch", "avg") is not a


def test_unknown_layer_lists_valid_names(scratch):
    with pytest.raises(StylekitError, match=r"unknown layer 'relu9_9'.*valid layers: conv1_1, relu1_1"):
        scratch(torch.rand(1, 3, 16, 16), ["relu9_9"])


def test_avg_pooling_is_rescaled():
    mx, avg = load_scratch("max"), load_scratch("avg")
    x = torch.rand(1, 16, 8, 8)
    assert torch.allclose(avg.layers["pool1"](x), 2 * torch.nn.functional.avg_pool2d(x, 2))
    assert torch.equal(mx.layers["pool1"](x), torch.nn.functional.max_pool2d(x, 2))


def test_scratch_is_deterministic_and_frozen():
    a, b = load_scratch(), load_scratch()
    x = torch.rand(1, 3, 24, 24)
    assert torch.equal(a(x, ["relu5_1"])["relu5_1"], b(x, ["relu5_1"])["relu5_1"])
    assert not any(p.requires_grad for p in a.parameters())


def test_caffe_vgg19_decoder_shapes_and_checksum():
    state = vggmod.decode_caffe_vgg19(vggmod.caffe_vgg19_path())
    assert len(state) == 32
    assert state["conv1_1.weight"].shape == (64, 3, 3, 3)
    assert state["conv5_4.weight"].shape == (512, 512, 3, 3)
    assert all(t.dtype == torch.float32 for t in state.values())
    digest = hashlib.sha256()
    for key, tensor in state.items():
        digest.update(key.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    assert digest.hexdigest() == DECODED_SHA256


def test_vgg19_preprocessing_is_caffe_bgr():
    model = load_backbone("vgg19")
    x = torch.zeros(1, 3, 2, 2)
    x[:, 0] = 1.0  # pure red
    pre = model.preprocess(x)
    assert pre[0, :, 0, 0].tolist() == pytest.approx([-103.939, -116.779, 255 - 123.68], abs=1e-3)


def _fake_torchvision_state(arch: str) -> dict[str, torch.Tensor]:
    sd, index, gen = {}, 0, torch.Generator().manual_seed(0)
    in_ch = 3
    for n_conv, out_ch in zip(vggmod.CONFIGS[arch], vggmod.CHANNELS):
        for _ in range(n_conv):
            sd[f"features.{index}.weight"] = torch.randn(out_ch, in_ch, 3, 3, generator=gen) * 0.01
            sd[f"features.{index}.bias"] = torch.randn(out_ch, generator=gen) * 0.01
            in_ch, index = out_ch, index + 2
        index += 1
    sd["classifier.0.weight"] = torch.zeros(2, 2)
    return sd


def test_torchvision_weights_from_path(tmp_path):
    sd = _fake_torchvision_state("vgg16")
    path = tmp_path / "my_vgg16.pth"
    torch.save(sd, path)
    model = load_backbone("vgg16", weights=path)
    assert torch.equal(model.layers["conv3_3"].weight, sd["features.14.weight"])
    assert model.name == "vgg16-torchvision"
    assert model.preprocess(torch.zeros(1, 3, 1, 1))[0, 0, 0, 0].item() == pytest.approx(-0.485 / 0.229)


def test_torchvision_weights_wrong_file(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"foo": torch.zeros(1)}, path)
    with pytest.raises(StylekitError, match="not a torchvision VGG19"):
        load_backbone("vgg19", weights=path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(StylekitError, match="cannot read weight file"):
        load_backbone("vgg19", weights=path)


def test_missing_torchvision_weights_names_the_three_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setitem(vggmod.TORCHVISION_WEIGHTS, "vgg16",
                        ("vgg16-397923af.pth", "397923af", (tmp_path / "absent.pth").as_uri()))
    with pytest.raises(StylekitError) as err:
        load_backbone("vgg16")
    msg = str(err.value)
    assert "vgg16-397923af.pth" in msg and "its path as weights" in msg and "hub" in msg and "download" in msg
    assert "its path as --weights" in err.value.render(cli_flags(LayersOptions))  # the command line's words


def test_download_checks_hash_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    source = tmp_path / "upstream.pth"
    torch.save(_fake_torchvision_state("vgg16"), source)
    good = sha256_of(source)[:8]
    monkeypatch.setitem(vggmod.TORCHVISION_WEIGHTS, "vgg16", ("vgg16-397923af.pth", good, source.as_uri()))
    load_backbone("vgg16")
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth"
    assert cached.is_file()
    cached.unlink()
    monkeypatch.setitem(vggmod.TORCHVISION_WEIGHTS, "vgg16", ("vgg16-397923af.pth", "00000000", source.as_uri()))
    with pytest.raises(StylekitError):
        load_backbone("vgg16")
    assert not cached.exists()
    assert not list(cached.parent.glob("*.tmp*"))


def test_unknown_backbone_and_pooling():
    with pytest.raises(StylekitError, match="unknown backbone"):
        load_backbone("resnet")
    with pytest.raises(StylekitError, match="unknown pooling"):
        load_backbone("scratch", pooling="min")


def test_keras_layer_names_are_accepted_everywhere(scratch, tmp_path, content_path, style_path):
    x = torch.rand(1, 3, 32, 32)
    ours, theirs = scratch(x, ["relu2_1", "pool3"]), scratch(x, ["block2_conv1", "block3_pool"])
    assert torch.equal(ours["relu2_1"], theirs["block2_conv1"]) and torch.equal(ours["pool3"], theirs["block3_pool"])
    assert scratch.check_layers(["block5_conv1", "relu1_1"]) == ["relu5_1", "relu1_1"]
    assert scratch.channels("block4_conv2") == scratch.channels("relu4_2")
    assert scratch.stride("block3_pool") == 8 == 2 * scratch.stride("relu3_1")
    assert scratch.deepest(["block1_conv1", "block2_pool"]) == "pool2"
    with pytest.raises(StylekitError, match=r"unknown layer 'block9_conv1'.*relu1_1 \(block1_conv1\).*pool1 "
                                            r"\(block1_pool\)"):
        scratch.check_layers(["block9_conv1"])
    from stylekit.cli import main
    out = tmp_path / "o.png"
    assert main(["transfer", str(content_path), str(style_path), "--backbone", "scratch", "--size", "32", "--steps",
                 "2", "--single-scale", "--content-layers", "block4_conv2", "--style-layers",
                 "block1_conv1,block2_conv1,block3_conv1", "-o", str(out), "-q"]) == 0
    assert main(["features", str(content_path), "--backbone", "scratch", "--layers", "block1_pool,block2_conv1",
                 "--size", "32", "-o", str(tmp_path / "f.png"), "-q"]) == 0
