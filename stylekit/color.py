"""Colour preservation (Gatys et al., "Preserving Color in Neural Artistic Style Transfer", 2016)."""
from __future__ import annotations

import torch

# RGB -> YIQ (NTSC); luminance Y is the first row.
_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114],
                         [0.595716, -0.274453, -0.321263],
                         [0.211456, -0.522591, 0.311135]])


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB to YIQ."""
    return torch.einsum("ij,...jhw->...ihw", _RGB2YIQ.to(image), image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) YIQ to RGB."""
    return torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(_RGB2YIQ).to(image), image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """Y channel (..., 1, H, W) of an RGB image."""
    return rgb_to_yiq(image)[..., :1, :, :]


def match_luminance(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """The luminance of ``source`` shifted and scaled to the mean and std of ``reference``'s luminance,
    as a 3-channel grey image (the paper's luminance-only transfer input)."""
    ys, yr = luminance(source), luminance(reference)
    y = (ys - ys.mean()) * (yr.std() / ys.std().clamp_min(1e-6)) + yr.mean()
    return y.expand(*y.shape[:-3], 3, *y.shape[-2:]).clamp(0, 1)


def combine_luminance(luma_from: torch.Tensor, chroma_from: torch.Tensor) -> torch.Tensor:
    """RGB image with the luminance of ``luma_from`` and the I, Q chrominance of ``chroma_from``."""
    a, b = rgb_to_yiq(luma_from), rgb_to_yiq(chroma_from)
    return yiq_to_rgb(torch.cat([a[..., :1, :, :], b[..., 1:, :, :]], dim=-3)).clamp(0, 1)


def _sqrtm(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(cov)
    vals = vals.clamp_min(1e-8)
    vals = vals.rsqrt() if inverse else vals.sqrt()
    return vecs @ torch.diag(vals) @ vecs.T


def match_color(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Affine colour transfer: ``source`` (..., 3, H, W) recoloured so its RGB mean and covariance equal
    ``reference``'s (the paper's "colour histogram matching", image-analogies variant, x' = A x + b with
    A = Σr^½ Σs^-½). Computed in float64."""
    def stats(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = img.double().reshape(3, -1)
        mu = flat.mean(1, keepdim=True)
        centred = flat - mu
        return mu, centred @ centred.T / flat.shape[1]

    mu_s, cov_s = stats(source)
    mu_r, cov_r = stats(reference)
    transform = _sqrtm(cov_r) @ _sqrtm(cov_s, inverse=True)
    flat = source.double().reshape(3, -1)
    out = transform @ (flat - mu_s) + mu_r
    return out.reshape(source.shape).to(source.dtype)


def recolor(result: torch.Tensor, content: torch.Tensor, preserve: str = "none",
            palette: torch.Tensor | None = None) -> torch.Tensor:
    """A result's colours as the options ask: ``preserve`` ``luminance`` keeps the content's chrominance (the
    result's luminance on the photo's colours), ``histogram`` matches the result's colour statistics to the
    content's; a ``palette`` image (``--color-image``) then takes the photo's place as the colour source: the
    result's RGB mean and covariance are matched to the palette's (after the luminance-only transfer, or instead
    of the histogram match to the photo)."""
    if preserve == "luminance":
        result = combine_luminance(result, content)
    elif preserve == "histogram":
        return match_color(result, content if palette is None else palette).clamp(0, 1)
    return result if palette is None else match_color(result, palette).clamp(0, 1)
