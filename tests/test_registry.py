"""One method registry: a method declared once is in the command line, the web page, the Python API and batch."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import stylekit
from stylekit.cli import build_parser, main
from stylekit.options import OutputOptions, registry

from . import toy_method


@pytest.fixture
def toy():
    method = registry.register(registry.Method(
        "negate", "the negative of a picture", "Negate CONTENT.", toy_method.NegateOptions, OutputOptions,
        (registry.Input("content", "content", "CONTENT", "a picture"),), "tests.toy_method", ("negate",),
        "Negative", registry.QUICK, 0.1, 0.0, batch=True))
    yield method
    registry.unregister("negate")


def test_a_registered_method_is_in_every_face(toy, tmp_path, content_path):
    original = np.asarray(Image.open(content_path).convert("RGB"), float)
    out = tmp_path / "negative.png"  # the command line
    assert main(["negate", str(content_path), "-o", str(out), "--strength", "1", "-q"]) == 0
    assert np.array_equal(np.asarray(Image.open(out), float), 255 - original)
    assert np.array_equal(np.asarray(stylekit.negate(content_path, strength=0.0), float), original)  # Python
    from stylekit.web.estimate import work
    from stylekit.web.tasks import methods_by_name

    page = methods_by_name()["negate"]  # the web page
    described = page.describe()
    assert described["title"] == "Negative" and described["lane"] == "quick" and described["needs_content"]
    assert [f["name"] for f in described["fields"] if f["name"] == "strength"] == ["strength"]
    assert work("negate", toy_method.NegateOptions(), (100, 200)) == pytest.approx(0.02)
    assert registry.batch_methods()["negate"] is toy_method.NegateOptions  # batch
    batch = next(a for a in build_parser(method="negate")._actions if a.dest == "command").choices["batch"]
    assert "--strength" in batch.format_help()


def test_an_unregistered_method_leaves_every_face(toy):
    registry.unregister("negate")
    with pytest.raises(AttributeError):
        stylekit.negate
    assert "negate" not in next(a for a in build_parser()._actions if a.dest == "command").choices
    from stylekit.web.tasks import methods_by_name

    assert "negate" not in methods_by_name() and "negate" not in registry.batch_methods()


def test_every_built_in_method_has_its_job_and_work():
    for method in registry.METHODS.values():
        assert callable(method.code(method.job)) and callable(method.code(method.work)), method.name
        for name in method.functions:
            assert callable(getattr(stylekit, name.rpartition(":")[2])), name
        if method.batch:
            assert callable(method.code("worker_peak")), method.name


def test_every_start_an_optimisation_can_take_from_above_is_an_init_choice_and_resolves():
    from stylekit.options.choices import INITS
    from stylekit.options.registry import STARTS, start_painter

    for name in STARTS:
        assert name in INITS and callable(start_painter(name))
    assert start_painter("content") is None
