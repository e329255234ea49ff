"""Image input and output, image geometry, the checks and atomic writes of every output, and checked downloads
(:mod:`.downloads`)."""
from .geometry import MIN_SIDE, checked_hw, fit_long_side, resize, resize_to, target_hw
from .images import (IMAGE_SUFFIXES, ImageLike, LoadedImage, content_files, image_bytes, image_tree, load_image,
                     load_mask, max_pixels, save_image, to_pil)
from .outputs import (WRITABLE, batch_outputs, check_distinct, check_output_path, check_writable_folder,
                      job_lock, write_atomic)

__all__ = ["IMAGE_SUFFIXES", "MIN_SIDE", "WRITABLE", "ImageLike", "LoadedImage", "batch_outputs", "check_distinct",
           "check_output_path", "check_writable_folder", "checked_hw", "content_files", "fit_long_side",
           "image_bytes", "image_tree", "job_lock", "load_image", "load_mask", "max_pixels", "resize", "resize_to",
           "save_image", "target_hw", "to_pil", "write_atomic"]
