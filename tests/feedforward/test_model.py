"""The stylizer runs any model through the one interface: a toy model is one more class."""
from __future__ import annotations

import torch

from stylekit.devices import LoadedCache
from stylekit.feedforward import FastStylizer, shared
from stylekit.feedforward.model import FastModel, StyleContext
from stylekit.options import FastOptions


class Tint(FastModel):
    """A toy model: the code is the styles' mean colour, and stylising moves each pixel halfway to it."""

    multiple = 4
    min_content = 8
    peak_bytes_per_pixel = (16, None)

    def load_files(self, paths) -> Tint:
        return self.eval()

    def encode(self, styles: list[torch.Tensor], context: StyleContext) -> torch.Tensor:
        return self.blend([s.mean((2, 3), keepdim=True) for s in styles], context.weights)

    def stylize(self, content, code, alpha=1.0, mask=None, tile=None) -> torch.Tensor:
        assert content.shape[-2] % 4 == 0 and content.shape[-1] % 4 == 0 and tile is None and mask is None
        return content + alpha * (code - content) / 2


def test_a_new_model_is_one_more_class(monkeypatch):
    monkeypatch.setattr(shared, "_LOADED", LoadedCache())  # not the real MicroAST network loaded before
    monkeypatch.setitem(shared.MODELS, "microast", Tint)  # under a registered name, so its "files" resolve
    red, blue = torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16)
    red[:, 0], blue[:, 2] = 1, 1
    stylizer = FastStylizer([red, blue], FastOptions(model="microast", style_blend_weights=[3, 1], alpha=0.5))
    assert isinstance(stylizer.net, Tint)
    content = torch.full((1, 3, 10, 7), 0.5)
    out = stylizer(content)
    assert out.shape == content.shape
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.5625, 0.375, 0.4375]))
