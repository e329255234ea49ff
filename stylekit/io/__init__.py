"""Image input and output."""
from .images import (MAX_SIDE, WRITABLE, ImageLike, LoadedImage, check_output_path, load_image, save_image,
                     to_pil, write_atomic)

__all__ = ["MAX_SIDE", "WRITABLE", "ImageLike", "LoadedImage", "check_output_path", "load_image", "save_image",
           "to_pil", "write_atomic"]
