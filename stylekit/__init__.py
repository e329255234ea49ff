"""stylekit: neural style transfer on frozen CNN features."""
from .errors import StylekitError
from .methods import TransferOptions, transfer

__version__ = "0.1.0"
__all__ = ["StylekitError", "TransferOptions", "__version__", "transfer"]
