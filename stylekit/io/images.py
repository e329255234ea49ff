"""Reading and writing images: RGB float tensors in [0, 1], alpha kept aside, atomic writes."""
from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import torch
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from ..errors import StylekitError
from .. import provenance
from .outputs import WRITABLE, check_output_path, write_atomic

ImageLike = Union[str, os.PathLike, Image.Image, torch.Tensor, np.ndarray]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
MAX_PIXELS_ENV = "STYLEKIT_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 89_478_485  # PIL's own default (about 9459x9459): an 89-megapixel photo opens, a bomb does not


@dataclass
class LoadedImage:
    """An image as (1, 3, H, W) RGB floats in [0, 1], with its alpha channel (1, 1, H, W) if it had one."""

    rgb: torch.Tensor
    alpha: torch.Tensor | None = None
    name: str = "image"


def _pil_to_float(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any PIL mode to (H, W, 3) float32 RGB and an optional (H, W) alpha, both in [0, 1]."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / top, 0, 1) if img.mode != "F" else np.clip(arr, 0, 1)
        return np.repeat(arr[..., None], 3, axis=2), None
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa")
    rgba = np.asarray(img.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    return rgba[..., :3], (rgba[..., 3] if has_alpha else None)


def max_pixels() -> int:
    """The largest image (width x height) stylekit decodes: ``$STYLEKIT_MAX_PIXELS`` or PIL's default."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    if not text.isdigit() or int(text) < 1:
        raise StylekitError(f"{MAX_PIXELS_ENV}={text!r} is not a positive whole number of pixels")
    return int(text)


def open_image(source: Path | BinaryIO, label: str, limit: int, too_large: str, reader: str = "PIL") -> Image.Image:
    """Open, check and decode one image file: its header's size against ``limit`` pixels before any pixel is
    decoded (``too_large`` says what to do about it), one line for a non-image or a damaged file; the first
    frame of an animation, EXIF orientation applied. Every image stylekit opens goes through here."""
    if Image.MAX_IMAGE_PIXELS is not None and limit > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = limit  # a limit raised above PIL's own: PIL's check follows it
    try:
        with warnings.catch_warnings():  # PIL warns about large images; they are refused below instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source)
        pixels = img.width * img.height
        if pixels > limit:
            raise StylekitError(f"{label} is {img.width}x{img.height} = {pixels / 1e6:.1f} megapixels; {too_large}")
        img.load()
    except UnidentifiedImageError:
        raise StylekitError(f"{label} is not an image {reader} can read (use JPEG, PNG, WebP, TIFF or BMP)") from None
    except Image.DecompressionBombError as exc:  # over twice PIL's limit: PIL refuses before we see the size
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(found.group(1)) if found else 2 * limit
        raise StylekitError(f"{label} is {pixels / 1e6:.1f} megapixels; {too_large}") from None
    except PermissionError:
        raise StylekitError(f"cannot read {label}: permission denied (check the file's permissions)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise StylekitError(f"{label} is damaged or truncated ({exc}): re-export or re-download it") from None
    if getattr(img, "n_frames", 1) > 1:
        warnings.warn(f"{label} is animated: using its first frame", stacklevel=3)
        img.seek(0)
    return ImageOps.exif_transpose(img)


def _open(path: Path) -> Image.Image:
    if not path.exists():
        raise StylekitError(f"{path}: no such file")
    if path.is_dir():
        raise StylekitError(f"{path} is a folder, not an image file")
    limit = max_pixels()
    return open_image(path, str(path), limit, f"stylekit reads up to {limit / 1e6:.1f}: shrink it, or raise the "
                      f"limit with {MAX_PIXELS_ENV}=N (pixels)")


def load_image(source: ImageLike, name: str | None = None) -> LoadedImage:
    """Load a path, PIL image, (H, W[, C]) uint8/float array or (3, H, W)/(1, 3, H, W) tensor in [0, 1]; anything
    else, an array of another shape, or NaN/infinite pixels are refused in one line naming ``name``."""
    label = name or "the image"
    if not isinstance(source, (torch.Tensor, np.ndarray, Image.Image, str, os.PathLike)):
        hint = " (decode encoded bytes first: PIL.Image.open(io.BytesIO(data)))" if isinstance(
            source, (bytes, bytearray)) else ""
        raise StylekitError(f"{label} must be a file path, a PIL image, a numpy array or a torch tensor, not "
                            f"{type(source).__name__}{hint}")
    if isinstance(source, np.ndarray) and (source.ndim not in (2, 3) or source.ndim == 3 and
                                           source.shape[2] not in (1, 3, 4)):
        raise StylekitError(f"{label} is an array of shape {source.shape}: give (H, W), (H, W, 3) or (H, W, 4)")
    if isinstance(source, torch.Tensor):
        t = source.detach().float()
        t = t.unsqueeze(0) if t.dim() == 3 else t
        if t.dim() != 4 or t.shape[0] != 1 or t.shape[1] not in (1, 3, 4):
            raise StylekitError(f"image tensor must be (3,H,W) or (1,3,H,W), got {tuple(source.shape)}")
        if not torch.isfinite(t).all():
            raise StylekitError(f"{label} has NaN or infinite pixels: give values in [0, 1]")
        alpha = t[:, 3:4] if t.shape[1] == 4 else None
        rgb = t[:, :3] if t.shape[1] != 1 else t.expand(-1, 3, -1, -1)
        result = LoadedImage(rgb.clamp(0, 1).contiguous(), alpha, name or "tensor")
    else:
        if isinstance(source, np.ndarray):
            arr = source[..., 0] if source.ndim == 3 and source.shape[2] == 1 else source  # one channel: grey
            if arr.dtype == np.uint8:
                source = Image.fromarray(arr)
            else:
                source = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
                source = source.permute(2, 0, 1) if source.dim() == 3 else source[None]
                return load_image(source, name or "array")
        if isinstance(source, Image.Image):
            img, label = ImageOps.exif_transpose(source), name or "image"
        else:
            path = Path(source).expanduser()
            img, label = _open(path), name or path.name
        if img.width == 0 or img.height == 0:
            raise StylekitError(f"{label} has zero size")
        rgb, alpha = _pil_to_float(img)
        result = LoadedImage(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None],
                             None if alpha is None else torch.from_numpy(alpha)[None, None], label)
    h, w = result.rgb.shape[-2:]
    if h == 0 or w == 0:
        raise StylekitError(f"{result.name} has zero size")
    return result


def load_mask(source: ImageLike, name: str = "mask") -> torch.Tensor:
    """A grayscale map (1, 1, H, W) in [0, 1] from any image: its luminance (Rec. 601), times its alpha where it
    has one (transparent: not claimed)."""
    loaded = load_image(source, name)
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=loaded.rgb.dtype).view(1, 3, 1, 1)
    gray = (loaded.rgb * weights).sum(1, keepdim=True)
    return (gray if loaded.alpha is None else gray * loaded.alpha).clamp(0, 1)


def to_pil(rgb: torch.Tensor, alpha: torch.Tensor | None = None) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) in [0, 1] (plus optional alpha) to an 8-bit PIL image."""
    rgb = rgb.detach().float().cpu().reshape(-1, *rgb.shape[-3:])[0]
    if alpha is not None:
        alpha = alpha.detach().float().cpu().reshape(-1, 1, *alpha.shape[-2:])[0]
        if tuple(alpha.shape[-2:]) != tuple(rgb.shape[-2:]):
            alpha = torch.nn.functional.interpolate(alpha[None], size=rgb.shape[-2:], mode="bilinear",
                                                    align_corners=False)[0]
        rgb = torch.cat([rgb, alpha], 0)
    arr = (rgb.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(arr, "RGBA" if alpha is not None else "RGB")


def save_image(image: torch.Tensor | Image.Image, path: str | os.PathLike,
               alpha: torch.Tensor | None = None) -> Path:
    """Write an image atomically (see :func:`write_atomic`). JPEG and BMP cannot hold alpha; it is dropped.
    A PNG written during a recorded run carries the run's settings; another format gets them in a ``.json``
    sidecar when the run asked for one (see :mod:`stylekit.provenance`)."""
    out = check_output_path(path)
    pil = image if isinstance(image, Image.Image) else to_pil(image, alpha)
    settings = provenance.image_settings()
    written = write_atomic(out, lambda tmp: _save(pil, tmp, out.suffix, settings))
    if settings is not None and WRITABLE[out.suffix.lower()] != "PNG" and provenance.wants_sidecar():
        write_atomic(provenance.sidecar_path(out), lambda tmp: tmp.write_text(settings, encoding="utf-8"))
    return written


def _save(pil: Image.Image, target: Path | BinaryIO, suffix: str, settings: str | None = None) -> None:
    """Write ``pil`` in the format of ``suffix`` (one of :data:`WRITABLE`): JPEG and WebP at quality 95, alpha
    dropped where the format cannot hold it; a PNG with ``settings`` carries them in its ``stylekit`` chunk."""
    fmt = WRITABLE[suffix.lower()]
    if fmt in ("JPEG", "BMP") and pil.mode == "RGBA":
        pil = pil.convert("RGB")
    extra: dict[str, object] = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "PNG" and settings is not None:
        info = PngImagePlugin.PngInfo()
        info.add_itxt(provenance.KEYWORD, settings, zip=True)
        extra["pnginfo"] = info
    pil.save(target, format=fmt, **extra)


def image_bytes(image: Image.Image, suffix: str) -> bytes:
    """``image`` encoded as a file of type ``suffix`` would hold it (as :func:`save_image` writes it, with the
    settings of the run being recorded, if any)."""
    buffer = io.BytesIO()
    _save(image, buffer, suffix, provenance.image_settings())
    return buffer.getvalue()


def content_files(folder: str | os.PathLike) -> list[Path]:
    """The image files of a folder, sorted by name (an error if there are none)."""
    files = sorted(p for p in Path(folder).expanduser().iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise StylekitError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {folder}")
    return files


def image_tree(folder: str | os.PathLike, skip: Path | None = None) -> tuple[list[Path], list[str]]:
    """The image files under ``folder`` and its subfolders, sorted by path, leaving out hidden files and folders
    (names starting with a dot: temporary files among them) and the folder ``skip``; also a note for each
    subfolder that could not be read. Symbolic links to folders are not followed."""
    root = Path(folder).expanduser()
    skipped = skip.resolve() if skip is not None else None
    files: list[Path] = []
    notes: list[str] = []

    def unreadable(exc: OSError) -> None:
        notes.append(f"cannot read folder {exc.filename} ({exc.strerror or exc}): its images are left out")

    for here, dirs, names in os.walk(root, onerror=unreadable):
        base = Path(here)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (base / d).resolve() != skipped)
        files += [base / n for n in names if not n.startswith(".") and Path(n).suffix.lower() in IMAGE_SUFFIXES
                  and (base / n).is_file()]
    return sorted(files), notes
