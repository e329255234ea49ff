import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylekit.errors import StylekitError
from stylekit.io import check_output_path, load_image, save_image
from stylekit.io.examples import example_content, example_style

from ..conftest import pattern


@pytest.mark.parametrize("ext", ["png", "jpg", "webp", "tiff", "bmp"])
def test_formats_round_trip(tmp_path, ext):
    arr = pattern(32)
    path = tmp_path / f"img.{ext}"
    Image.fromarray(arr).save(path)
    img = load_image(path)
    assert img.rgb.shape == (1, 3, 32, 32) and img.rgb.dtype == torch.float32
    assert 0 <= img.rgb.min() and img.rgb.max() <= 1
    assert np.abs(img.rgb[0].permute(1, 2, 0).numpy() * 255 - arr).mean() < 8


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / "rot.jpg"
    Image.fromarray(arr).save(path, exif=exif)
    img = load_image(path).rgb
    assert img.shape[-2:] == (40, 20)
    assert img[0, :, :15].mean() > 0.9 and img[0, :, 25:].mean() < 0.1  # white half is now on top


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16", "1", "LA"])
def test_modes_become_rgb(tmp_path, mode):
    base = Image.fromarray(pattern(16))
    if mode == "I;16":
        img = Image.fromarray((np.linspace(0, 65535, 256).reshape(16, 16)).astype(np.uint16))
    else:
        img = base.convert(mode)
    path = tmp_path / ("x.tif" if mode in ("CMYK", "I;16") else "x.png")
    img.save(path)
    loaded = load_image(path)
    assert loaded.rgb.shape == (1, 3, 16, 16)
    if mode == "I;16":
        assert loaded.rgb.max().item() == pytest.approx(1.0) and loaded.rgb.min().item() == 0.0
    assert (loaded.alpha is not None) == (mode == "LA")


def test_alpha_is_kept_and_written(tmp_path):
    rgba = np.dstack([pattern(16), np.full((16, 16), 128, np.uint8)])
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    loaded = load_image(path)
    assert loaded.alpha is not None and loaded.alpha.mean().item() == pytest.approx(128 / 255, abs=1e-3)
    out = save_image(loaded.rgb, tmp_path / "o.png", loaded.alpha)
    assert Image.open(out).mode == "RGBA"
    assert Image.open(save_image(loaded.rgb, tmp_path / "o.jpg", loaded.alpha)).mode == "RGB"


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (8, 8), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.info["transparency"] = 0
    path = tmp_path / "p.png"
    img.save(path, transparency=0)
    loaded = load_image(path)
    assert loaded.alpha is not None and loaded.alpha.max().item() == 0.0


def test_animated_uses_first_frame_with_a_note(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = load_image(path).rgb
    assert any("animated" in str(w.message) for w in caught)
    assert img[0, 0].mean() > 0.9 and img[0, 2].mean() < 0.1


def test_bad_files(tmp_path):
    with pytest.raises(StylekitError, match="no such file"):
        load_image(tmp_path / "missing.png")
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(StylekitError, match="not an image"):
        load_image(text)
    good = tmp_path / "good.jpg"
    Image.fromarray(pattern(64)).save(good)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[:600])
    with pytest.raises(StylekitError, match="damaged or truncated"):
        load_image(cut)
    with pytest.raises(StylekitError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(StylekitError, match="zero size"):
        load_image(torch.zeros(3, 0, 5))


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    Image.fromarray(pattern(8)).save(path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", denied)  # root ignores chmod, so simulate the OS refusing
    with pytest.raises(StylekitError, match="permission denied"):
        load_image(path)


def test_python_inputs():
    arr = pattern(12)
    a = load_image(arr).rgb
    b = load_image(Image.fromarray(arr)).rgb
    c = load_image(torch.from_numpy(arr).permute(2, 0, 1).float() / 255).rgb
    assert torch.allclose(a, b) and torch.allclose(a, c)


def test_output_path_checks(tmp_path):
    with pytest.raises(StylekitError, match="does not exist"):
        check_output_path(tmp_path / "nope" / "out.png")
    with pytest.raises(StylekitError, match="extension"):
        check_output_path(tmp_path / "out.xyz")
    assert check_output_path(tmp_path / "out.png") == tmp_path / "out.png"


def test_saved_file_has_normal_permissions(tmp_path):
    import os
    mask = os.umask(0o022)
    try:
        path = save_image(torch.rand(1, 3, 4, 4), tmp_path / "p.png")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_save_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    save_image(torch.rand(1, 3, 8, 8), target)
    before = target.read_bytes()

    def boom(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"partial")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(RuntimeError):
        save_image(torch.rand(1, 3, 8, 8), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_builtin_examples():
    assert load_image(example_content()).rgb.shape[1] == 3
    a, b = np.asarray(example_style(64)), np.asarray(example_style(64))
    assert a.shape == (64, 64, 3) and np.array_equal(a, b) and a.std() > 20


@pytest.mark.parametrize("source, said", [
    (None, "content must be a file path, a PIL image, a numpy array or a torch tensor, not NoneType"),
    (123, "not int"),
    (b"\x89PNG", "not bytes (decode encoded bytes first"),
    (np.zeros((8, 8, 5), np.uint8), "an array of shape (8, 8, 5): give (H, W), (H, W, 3) or (H, W, 4)"),
    (np.zeros((1, 8, 8, 3), np.uint8), "an array of shape (1, 8, 8, 3)"),
    (torch.full((1, 3, 8, 8), float("nan")), "content has NaN or infinite pixels"),
    (np.full((8, 8, 3), np.inf, np.float32), "content has NaN or infinite pixels"),
], ids=["none", "int", "bytes", "five-channels", "batched-array", "nan-tensor", "inf-array"])
def test_what_is_not_an_image_is_named_in_one_line(source, said):
    with pytest.raises(StylekitError) as refused:
        load_image(source, "content")
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_the_python_api_names_a_bad_input_before_any_work(style_path):
    import stylekit

    with pytest.raises(StylekitError, match="content has NaN or infinite pixels"):
        stylekit.fast(torch.full((3, 16, 16), float("nan")), style_path)
    with pytest.raises(StylekitError, match="must be a file path, a PIL image, a numpy array or a torch tensor"):
        stylekit.transfer(None, style_path, backbone="scratch", size=16, steps=1)
