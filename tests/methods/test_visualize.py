"""Channel visualisation by activation maximisation, its Fourier parameterisation and its objectives."""
from __future__ import annotations

import pytest
import torch

from stylekit import cli
from stylekit.errors import StylekitError
from stylekit.io import load_image
from stylekit.methods.visualize import random_view, visualize
from stylekit.objectives import ChannelActivation, Diversity, NeuronActivation
from stylekit.optim.space import FourierSpace
from stylekit.options import OptionError, VisualizeOptions, validate


def mean_activation(net, image, layer: str, channel: int) -> float:
    with torch.no_grad():
        return float(net(image, [layer])[layer][:, channel].mean())


def test_a_channel_picture_excites_its_channel_far_more_than_noise(scratch):
    result = visualize(layer="relu3_1", channel=3, size=64, steps=100, lr=0.1, seed=0, backbone="scratch")
    picture = load_image(result.image).rgb
    start = FourierSpace(size=(64, 64)).random(1, torch.Generator().manual_seed(1))  # the noise it starts from
    drawn = mean_activation(scratch, picture, "relu3_1", 3)
    assert drawn > 10 * mean_activation(scratch, start, "relu3_1", 3)
    other = mean_activation(scratch, picture, "relu3_1", 4)
    assert drawn > other  # it is this channel's picture, not just a bright one


def test_pictures_are_reproducible_and_several_channels_make_a_sheet():
    first = visualize(layer="relu2_1", channel=1, size=48, steps=8, seed=5, backbone="scratch")
    again = visualize(layer="relu2_1", channel=1, size=48, steps=8, seed=5, backbone="scratch")
    assert first.image.tobytes() == again.image.tobytes()
    sheet = visualize(layer="relu2_1", channels="0-2", diversity=2, size=48, steps=4, seed=0, backbone="scratch")
    assert [c for c, _ in sheet.pictures] == [0, 0, 1, 1, 2, 2] and sheet.image.width > 2 * 48
    assert "diversity:relu2_1" in sheet.history[-1]


def test_visualize_refuses_what_it_cannot_draw():
    with pytest.raises(OptionError, match="give channel or channels, not both"):
        validate(VisualizeOptions(channel=1, channels=(2, 3)))
    with pytest.raises(OptionError, match="at most 64 at once"):
        validate(VisualizeOptions(channels=tuple(range(40)), diversity=2))
    with pytest.raises(StylekitError, match="channel 70 is out of range for relu2_1, which has 32 channels"):
        visualize(layer="relu2_1", channel=70, size=48, steps=2, backbone="scratch")


def test_the_fourier_parameterisation_round_trips_and_starts_grey():
    space = FourierSpace(size=(30, 41), decay=1.0)
    start = space.random(2, torch.Generator().manual_seed(0))
    assert start.shape == (2, 3, 30, 41) and (start - 0.5).abs().mean() < 0.05  # a faint, nearly grey start
    image = torch.rand((1, 3, 30, 41), generator=torch.Generator().manual_seed(1)) * 0.9 + 0.05
    assert torch.allclose(space.to_unit(space.to_space(image)), image, atol=1e-4)


def test_fourier_clamp_leaves_every_spectrum_alone_because_each_is_an_image_in_range():
    space = FourierSpace(size=(30, 41), decay=1.0)
    image = torch.rand((1, 3, 30, 41), generator=torch.Generator().manual_seed(1)) * 0.9 + 0.05
    inside = space.to_space(image)
    assert torch.equal(space.clamp(inside), inside)
    wild = torch.randn(inside.shape, generator=torch.Generator().manual_seed(2)) * 1000  # far beyond any start
    assert torch.equal(space.clamp(wild), wild)
    picture = space.to_unit(space.clamp(wild))
    assert picture.min() >= 0 and picture.max() <= 1
    assert picture.min() < 0.01 and picture.max() > 0.99  # the sigmoid saturates: the range is used, not shrunk


def test_random_views_are_seeded_and_keep_the_shape():
    image = torch.rand((2, 3, 32, 40))
    a = random_view(4, 0.1, 10, torch.Generator().manual_seed(0))(image)
    b = random_view(4, 0.1, 10, torch.Generator().manual_seed(0))(image)
    assert a.shape == image.shape and torch.equal(a, b) and not torch.equal(a, image)
    assert random_view(0, 0, 0, torch.Generator())(image) is image


def test_the_objective_algebra_negates_subtracts_and_names_channels_and_neurons():
    features = {"l": torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)}
    channel, neuron = ChannelActivation("l", 1), NeuronActivation("l", 2, batch=1)
    assert channel(None, features) == -features["l"][:, 1].mean()
    assert neuron(None, features) == -features["l"][1, 2, 2, 2]
    assert (-channel)(None, features) == features["l"][:, 1].mean()
    difference = channel - neuron
    assert difference(None, features) == channel(None, features) - neuron(None, features)
    assert set(difference.terms(None, features)) == {"channel:l:1", "neuron:l:2"}
    same = {"l": torch.ones(2, 3, 4, 4)}
    apart = {"l": torch.stack([torch.ones(3, 4, 4), torch.eye(4).expand(3, 4, 4) * torch.tensor([1.0, 0, 0])[:, None,
                                                                                                           None]])}
    diversity = Diversity("l", [0, 1])
    assert diversity(None, same) > diversity(None, apart)  # identical pictures are the most alike
    assert Diversity("l", [0])(None, same) == 0


def test_the_visualize_command_writes_its_picture(tmp_path, capsys):
    out = tmp_path / "channel.png"
    assert cli.main(["visualize", "--layer", "relu2_1", "--channel", "3", "--size", "40", "--steps", "3",
                     "--backbone", "scratch", "--seed", "1", "-o", str(out)]) == 0
    assert out.is_file()
    assert cli.main(["visualize", "--channel", "1", "--channels", "2,3", "-o", str(tmp_path / "x.png")]) == 2
    assert "give --channel or --channels, not both" in capsys.readouterr().err
