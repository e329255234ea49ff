"""Methods built on the shared engine."""
from .transfer import TransferOptions, TransferResult, transfer

__all__ = ["TransferOptions", "TransferResult", "transfer"]
