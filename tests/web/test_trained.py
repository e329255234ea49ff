"""The page offers the trained models of the server's models folder: listed in the config, their styles'
thumbnails served, a Quick job run with one and no painting; a model is named, never a path."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from stylekit.options import TrainOptions
from stylekit.training import run_training
from stylekit.web import BackgroundServer, ServerConfig

from ..conftest import pattern
from .test_server import Client, png_bytes


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    style = tmp_path_factory.mktemp("styles") / "waves.png"
    Image.fromarray(pattern(48, 1, "style")).save(style)
    other = style.with_name("dots.png")
    Image.fromarray(pattern(48, 4, "style")[::-1].copy()).save(other)
    options = TrainOptions(backbone="scratch", size=32, style_size=64, batch_size=1, steps=1, seed=1)
    run_training([style], options, str(folder / "waves.pt"))
    run_training([style, other], options, str(folder / "pair.pt"))
    (folder / "broken.pt").write_text("not a model")
    return folder


@pytest.fixture(scope="module")
def client(models):
    with BackgroundServer(ServerConfig(port=0, models_dir=str(models))) as running:
        yield Client(running.url)


def test_the_config_lists_the_usable_trained_models_and_the_model_field_offers_them(client):
    config = client.call("GET", "/api/config")
    assert config["trained"] == [{"name": "pair", "styles": ["waves", "dots"]},
                                 {"name": "waves", "styles": ["waves"]}]
    fast = next(m for m in config["methods"] if m["name"] == "fast")
    model = next(f for f in fast["fields"] if f["name"] == "model")
    assert model["choices"][:3] == ["magenta", "microast", "wct"] and {"pair", "waves"} <= set(model["choices"])


def test_a_trained_model_paints_without_a_painting(client):
    content = client.upload(png_bytes(pattern(64, 2)))["id"]
    one = client.wait(client.submit("fast", content, [], {"model": "waves"})["id"])
    assert one["state"] == "done" and tuple(one["size"]) == (64, 64), one
    mixed = client.wait(client.submit("fast", content, [], {"model": "pair", "builtin": "0:0.5,1:0.5"})["id"])
    assert mixed["state"] == "done", mixed
    too_far = client.submit("fast", content, [], {"model": "pair", "builtin": "3"}, expect=400)
    assert too_far["field"] == "builtin" and "2 styles" in too_far["error"], too_far


def test_a_model_is_named_never_a_path(client, models):
    content = client.upload(png_bytes(pattern(64, 2)))["id"]
    for bad in (str(models / "waves.pt"), "../models/waves", "broken", "/etc/passwd"):
        refused = client.submit("fast", content, [], {"model": bad}, expect=400)
        assert refused["field"] == "model" and "must be one of" in refused["error"], refused


def test_the_styles_thumbnails_are_served_and_nothing_else(client):
    for name, index in (("waves", 0), ("pair", 1)):
        status, data, _ = client.raw("GET", f"/api/trained/{name}/{index}.jpg")
        assert status == 200 and Image.open(io.BytesIO(data)).format == "JPEG"
    for path in ("/api/trained/pair/2.jpg", "/api/trained/broken/0.jpg", "/api/trained/nobody/0.jpg",
                 "/api/trained/..%2Fmodels%2Fwaves/0.jpg"):
        assert client.raw("GET", path)[0] == 404, path
