"""Reading and writing images: RGB float tensors in [0, 1], alpha kept aside, atomic writes."""
from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import StylekitError

ImageLike = Union[str, os.PathLike, Image.Image, torch.Tensor, np.ndarray]
WRITABLE = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF",
            ".tiff": "TIFF", ".bmp": "BMP"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")


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


def _open(path: Path) -> Image.Image:
    if not path.exists():
        raise StylekitError(f"{path}: no such file")
    if path.is_dir():
        raise StylekitError(f"{path} is a folder, not an image file")
    try:
        img = Image.open(path)
        img.load()
    except UnidentifiedImageError:
        raise StylekitError(f"{path} is not an image PIL can read (use JPEG, PNG, WebP, TIFF or BMP)") from None
    except PermissionError:
        raise StylekitError(f"cannot read {path}: permission denied (check the file's permissions)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise StylekitError(f"{path} is damaged or truncated ({exc}): re-export or re-download it") from None
    if getattr(img, "n_frames", 1) > 1:
        warnings.warn(f"{path.name} is animated: using its first frame", stacklevel=3)
        img.seek(0)
    return ImageOps.exif_transpose(img)


def load_image(source: ImageLike, name: str | None = None) -> LoadedImage:
    """Load a path, PIL image, (H, W[, C]) uint8/float array or (3, H, W)/(1, 3, H, W) tensor in [0, 1]."""
    if isinstance(source, torch.Tensor):
        t = source.detach().float()
        t = t.unsqueeze(0) if t.dim() == 3 else t
        if t.dim() != 4 or t.shape[0] != 1 or t.shape[1] not in (1, 3, 4):
            raise StylekitError(f"image tensor must be (3,H,W) or (1,3,H,W), got {tuple(source.shape)}")
        alpha = t[:, 3:4] if t.shape[1] == 4 else None
        rgb = t[:, :3] if t.shape[1] != 1 else t.expand(-1, 3, -1, -1)
        result = LoadedImage(rgb.clamp(0, 1).contiguous(), alpha, name or "tensor")
    else:
        if isinstance(source, np.ndarray):
            arr = source
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


def check_output_path(path: str | os.PathLike) -> Path:
    """Validate an output path before any work: known extension, existing folder."""
    out = Path(path).expanduser()
    if out.suffix.lower() not in WRITABLE:
        raise StylekitError(f"cannot write {out.name}: use one of {', '.join(sorted(WRITABLE))} as extension")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise StylekitError(f"folder {folder} does not exist: create it or choose another output path")
    if out.is_dir():
        raise StylekitError(f"{out} is a folder: give a file name such as {out / 'out.png'}")
    return out


def _umask_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (mkstemp would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place, so a crash or
    Ctrl-C never leaves a half-written ``path``. The file gets the permissions a plain write would."""
    out = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp" + out.suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def save_image(image: torch.Tensor | Image.Image, path: str | os.PathLike,
               alpha: torch.Tensor | None = None) -> Path:
    """Write an image atomically (see :func:`write_atomic`). JPEG and BMP cannot hold alpha; it is dropped."""
    out = check_output_path(path)
    fmt = WRITABLE[out.suffix.lower()]
    pil = image if isinstance(image, Image.Image) else to_pil(image, alpha)
    if fmt in ("JPEG", "BMP") and pil.mode == "RGBA":
        pil = pil.convert("RGB")
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    return write_atomic(out, lambda tmp: pil.save(tmp, format=fmt, **options))


def content_files(folder: str | os.PathLike) -> list[Path]:
    """The image files of a folder, sorted by name (an error if there are none)."""
    files = sorted(p for p in Path(folder).expanduser().iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise StylekitError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {folder}")
    return files
