"""Methods built on the shared engine."""
from .result import MethodResult
from .texture import TextureOptions, texture
from .transfer import TransferOptions, transfer

__all__ = ["MethodResult", "TextureOptions", "TransferOptions", "texture", "transfer"]
