import torch

from stylekit.color import combine_luminance, luminance, match_color, match_luminance, rgb_to_yiq, yiq_to_rgb


def _stats(img):
    flat = img.double().reshape(3, -1)
    mu = flat.mean(1)
    c = flat - mu[:, None]
    return mu, c @ c.T / flat.shape[1]


def test_yiq_round_trip():
    x = torch.rand(1, 3, 5, 7)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5)
    grey = torch.full((1, 3, 2, 2), 0.4)
    assert torch.allclose(luminance(grey), torch.full((1, 1, 2, 2), 0.4), atol=1e-6)


def test_match_color_moves_mean_and_covariance():
    gen = torch.Generator().manual_seed(0)
    src = torch.rand(1, 3, 16, 16, generator=gen) * torch.tensor([0.2, 0.9, 0.5]).view(1, 3, 1, 1)
    ref = torch.rand(1, 3, 16, 16, generator=gen) * 0.5 + 0.3
    out = match_color(src, ref)
    mu_o, cov_o = _stats(out)
    mu_r, cov_r = _stats(ref)
    assert torch.allclose(mu_o, mu_r, atol=1e-5) and torch.allclose(cov_o, cov_r, atol=1e-5)


def test_luminance_only_transfer_parts():
    gen = torch.Generator().manual_seed(1)
    a, b = torch.rand(1, 3, 8, 8, generator=gen), torch.rand(1, 3, 8, 8, generator=gen) * 0.5 + 0.25
    grey = match_luminance(a, b)
    assert torch.allclose(grey[:, 0], grey[:, 1]) and torch.allclose(grey[:, 1], grey[:, 2])
    assert abs(grey[:, :1].mean() - luminance(b).mean()) < 1e-4
    both = combine_luminance(luma_from=grey, chroma_from=b)
    yiq = rgb_to_yiq(both)
    assert torch.allclose(yiq[:, 0], luminance(grey)[:, 0], atol=2e-3)
    assert torch.allclose(yiq[:, 1:], rgb_to_yiq(b)[:, 1:], atol=2e-3)
