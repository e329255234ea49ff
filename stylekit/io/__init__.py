"""Image input and output, and image geometry."""
from .geometry import fit_long_side, resize, resize_to, target_hw
from .images import (IMAGE_SUFFIXES, WRITABLE, ImageLike, LoadedImage, check_output_path, content_files,
                     load_image, save_image, to_pil, write_atomic)

__all__ = ["IMAGE_SUFFIXES", "WRITABLE", "ImageLike", "LoadedImage", "check_output_path", "content_files",
           "fit_long_side", "load_image", "resize", "resize_to", "save_image", "target_hw", "to_pil", "write_atomic"]
