"""Keras VGG weight files (.h5): synthetic files in the Keras 2 and Keras 3 layouts with the real layer shapes.

Only a few layers hold data; the others are declared with their shapes and read back as HDF5's fill value
(zeros), which keeps the files small and the tests fast.
"""
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from stylekit.backbones import load_backbone
from stylekit.backbones import vgg as vggmod
from stylekit.backbones.keras import keras_vgg_state
from stylekit.cli import main
from stylekit.errors import StylekitError

h5py = pytest.importorskip("h5py")

FILLED = ("block1_conv1", "block3_conv1")


def conv_shapes(arch):
    """Keras name -> (HWIO kernel shape, bias shape) of each convolution."""
    shapes, in_ch = {}, 3
    for b, (n, out) in enumerate(zip(vggmod.CONFIGS[arch], vggmod.CHANNELS), start=1):
        for c in range(1, n + 1):
            shapes[f"block{b}_conv{c}"] = ((3, 3, in_ch, out), (out,))
            in_ch = out
    return shapes


def random_weights(arch, seed=0):
    """Random kernel and bias for the layers in FILLED."""
    rng = np.random.default_rng(seed)
    shapes = conv_shapes(arch)
    return {name: tuple(rng.standard_normal(shape, dtype=np.float32) * 0.01 for shape in shapes[name])
            for name in FILLED}


def write_keras2(path, arch, weights, names=("{}/kernel:0", "{}/bias:0"), top=False, shapes=None):
    """A Keras 2 / tf.keras file (``layer_names``, ``weight_names``), with or without the classifier."""
    shapes = shapes or conv_shapes(arch)
    layers = [("input_1", {})]
    for name, shape in shapes.items():
        layers.append((name, dict(zip((n.format(name) for n in names), shape))))
        if name.endswith(f"conv{vggmod.CONFIGS[arch][int(name[5]) - 1]}"):
            layers.append((f"block{name[5]}_pool", {}))
    if top:
        layers += [("flatten", {}), ("fc1", {"fc1/kernel:0": (25088, 4096), "fc1/bias:0": (4096,)}),
                   ("fc2", {"fc2/kernel:0": (4096, 4096), "fc2/bias:0": (4096,)}),
                   ("predictions", {"predictions/kernel:0": (4096, 1000), "predictions/bias:0": (1000,)})]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name, _ in layers]
        f.attrs["backend"] = b"tensorflow"
        for name, held in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = [w.encode() for w in held]
            for w, shape, data in zip(held, held.values(), weights.get(name, (None, None))):
                g.create_dataset(w, shape=shape, dtype="float32", data=data)
    return path


def write_keras3(path, arch, weights):
    """A Keras 3 ``.weights.h5`` file (``layers/<name>/vars/<i>``)."""
    with h5py.File(path, "w") as f:
        layers = f.create_group("layers")
        layers.create_group("input_layer")
        for name, shape in conv_shapes(arch).items():
            vars_ = layers.create_group(name).create_group("vars")
            for i, (s, data) in enumerate(zip(shape, weights.get(name, (None, None)))):
                vars_.create_dataset(str(i), shape=s, dtype="float32", data=data)
        f.create_group("vars")
    return path


def caffe_input(x):
    """RGB [0, 1] to Keras's VGG input: BGR, 0-255, ImageNet mean subtracted."""
    return x.flip(1) * 255.0 - torch.tensor(vggmod.CAFFE_MEAN_BGR).view(1, 3, 1, 1)


def oihw(kernel):
    return torch.from_numpy(kernel).permute(3, 2, 0, 1)


@pytest.mark.parametrize("layout", ["keras2", "keras2-with-top", "keras3"])
def test_vgg16_file_gives_conv2d_of_the_permuted_kernel_on_caffe_input(tmp_path, layout):
    weights = random_weights("vgg16")
    if layout == "keras3":
        path = write_keras3(tmp_path / "vgg16.weights.h5", "vgg16", weights)
    else:  # the 2016 keras.applications files name their weights W and b; Keras reads them by order
        names = ("{}_W_1:0", "{}_b_1:0") if layout == "keras2-with-top" else ("{}/kernel:0", "{}/bias:0")
        path = write_keras2(tmp_path / "vgg16.h5", "vgg16", weights, names, top=layout == "keras2-with-top")
    model = load_backbone("vgg16", weights=path)
    assert model.name == "vgg16-keras" and model.bgr and model.value_range == 255.0
    x = torch.rand(2, 3, 12, 10)
    kernel, bias = weights["block1_conv1"]
    expected = F.conv2d(caffe_input(x), oihw(kernel), torch.from_numpy(bias), padding=1)
    got = model(x, ["conv1_1"])["conv1_1"]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert torch.equal(model.layers["conv3_1"].weight, oihw(weights["block3_conv1"][0]))
    assert torch.equal(model.layers["conv3_1"].bias, torch.from_numpy(weights["block3_conv1"][1]))
    assert not model.layers["conv5_3"].weight.any()


def test_vgg19_file_with_upper_case_suffix(tmp_path):
    weights = random_weights("vgg19", seed=1)
    path = write_keras2(tmp_path / "VGG19.H5", "vgg19", weights)
    model = vggmod.load_vgg("vgg19", str(path), allow_download=False)
    assert model.name == "vgg19-keras" and "conv3_4" in model.layer_names
    assert torch.equal(model.layers["conv1_1"].weight, oihw(weights["block1_conv1"][0]))
    state = keras_vgg_state("vgg19", path)
    assert len(state) == 32 and state["conv5_4.weight"].shape == (512, 512, 3, 3)


def test_vgg16_file_for_vgg19_is_one_line_naming_the_file_to_pass(tmp_path):
    path = write_keras2(tmp_path / "vgg16.h5", "vgg16", {})
    with pytest.raises(StylekitError) as info:
        load_backbone("vgg19", weights=path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "is not a Keras VGG19 weight file (no layer block3_conv4): pass " \
           "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 (from https://storage.googleapis.com/" in message


def test_vgg19_file_for_vgg16_is_refused(tmp_path):
    path = write_keras2(tmp_path / "vgg19.h5", "vgg19", {})
    with pytest.raises(StylekitError, match=r"not a Keras VGG16 weight file \(it has a layer block3_conv4.*"
                                            r"pass vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5"):
        load_backbone("vgg16", weights=path)


def test_channels_first_kernel_is_refused_with_the_shapes(tmp_path):
    shapes = conv_shapes("vgg16") | {"block1_conv1": ((64, 3, 3, 3), (64,))}
    path = write_keras2(tmp_path / "th.h5", "vgg16", {}, shapes=shapes)
    with pytest.raises(StylekitError, match=r"does not fit Keras VGG16: layer block1_conv1 has weights of shapes "
                                            r"\[\(64, 3, 3, 3\), \(64,\)\], expected \[\(3, 3, 3, 64\), \(64,\)\]"):
        keras_vgg_state("vgg16", path)


def test_files_that_are_not_keras_weights(tmp_path):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not an hdf5 file at all" * 10)
    with pytest.raises(StylekitError, match=r"garbage\.h5 is not an HDF5 file .*: pass vgg16_weights"):
        load_backbone("vgg16", weights=garbage)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(StylekitError, match=r"other\.h5 is not a Keras weight file"):
        load_backbone("vgg16", weights=other)
    with pytest.raises(StylekitError, match=r"missing\.h5 does not exist"):
        load_backbone("vgg16", weights=tmp_path / "missing.h5")


def test_cli_prints_one_line(tmp_path, capsys):
    path = write_keras2(tmp_path / "vgg16.h5", "vgg16", {})
    assert main(["layers", "--backbone", "vgg16", "--weights", str(path)]) == 0
    assert "conv5_3" in capsys.readouterr().out
    assert main(["layers", "--backbone", "vgg19", "--weights", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no layer block3_conv4" in err


def test_without_h5py_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(StylekitError, match=r"needs h5py: run 'pip install h5py'"):
        keras_vgg_state("vgg16", tmp_path / "vgg16.h5")


def test_the_keras_recipe_runs_on_a_users_vgg16_file(tmp_path, content_path, style_path):
    """Seed 003's own convnet: 'stylekit transfer --preset keras-lbfgs --backbone vgg16 --weights FILE.h5'."""
    from stylekit import cli

    path = write_keras2(tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg16",
                        random_weights("vgg16", seed=3))
    out = tmp_path / "wave_chicago.png"
    assert cli.main(["transfer", str(content_path), str(style_path), "--preset", "keras-lbfgs", "--backbone", "vgg16",
                     "--weights", str(path), "--size", "32", "--steps", "1", "--save-every", "0", "-q",
                     "-o", str(out)]) == 0
    assert out.is_file()
