"""The Examples in the public method functions' docstrings run and show what they say (scratch backbone, tiny
sizes)."""
from __future__ import annotations

import doctest
import importlib

import pytest

FUNCTIONS = {
    "transfer": "stylekit.methods.gatys", "texture": "stylekit.methods.texture_synthesis",
    "invert": "stylekit.methods.inversion", "invert_sweep": "stylekit.methods.inversion",
    "dream": "stylekit.methods.deepdream", "dream_zoom": "stylekit.methods.deepdream",
    "features": "stylekit.methods.feature_maps", "deconv": "stylekit.methods.deconv",
    "top_images": "stylekit.methods.deconv", "visualize": "stylekit.methods.visualize",
    "train": "stylekit.training",
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_docstring_examples_run(name):
    module = importlib.import_module(FUNCTIONS[name])
    function = getattr(module, name)
    found = [test for test in doctest.DocTestFinder(recurse=False).find(function, name, module=module, globs={})
             if test.examples]
    assert found, f"{name}'s docstring has no examples"
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in found:
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0 and results.failed == 0, "".join(report)
