"""Downloading files and checking them against their sha256, for the weight files of the backbones and of the
feed-forward models (plain Python, no torch)."""
from __future__ import annotations

import hashlib
import shutil
import urllib.request
from pathlib import Path

from ..errors import StylekitError
from .outputs import write_atomic


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_hash(path: Path, sha256: str) -> None:
    """Raise a user error if ``path``'s sha256 does not start with ``sha256`` (a full hash or a prefix)."""
    actual = sha256_of(path)
    if not actual.startswith(sha256.lower()):
        raise StylekitError(f"{path} is corrupted or not the expected file (sha256 {actual[:16]}..., "
                            f"expected {sha256[:16]}...): delete it and provide the file again")


def download(url: str, dest: Path, sha256: str) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying its sha256 (prefix) before it lands."""
    dest.parent.mkdir(parents=True, exist_ok=True)

    def fetch(tmp: Path) -> None:
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        check_hash(tmp, sha256)

    return write_atomic(dest, fetch)
