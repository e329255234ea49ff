"""Outputs that remember how they were made: a run's settings (command line as typed, every option as resolved,
the seed actually used, stylekit's and torch's versions, input and model checksums) recorded while it runs and
written into every PNG it saves (an iTXt chunk named ``stylekit``), or beside other formats in a ``.json`` sidecar
when asked. ``stylekit info`` prints them; ``stylekit rerun`` runs them again.

The record is a context variable: the command line opens one per command (:func:`recording`); the pieces that
know a setting tell it (:func:`note_options`, :func:`note_seed`, :func:`note_model`); :func:`image_settings`
gives it to whatever writes an image. Nothing here imports torch.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import os
import platform
import struct
import time
import zlib
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import StylekitError
from .version import __version__

KEYWORD = "stylekit"  # the PNG text chunk's keyword
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT = 16 << 20  # a settings chunk larger than this is not ours
HASH_AT_MOST = 256 << 20  # inputs larger than this (videos) are recorded by size, not checksum
WRITTEN_FLAGS = ("-o", "--output", "--history", "--intermediates", "-output_image")  # what they name is written
SIDECAR = ".json"  # appended to an output's name: out.jpg -> out.jpg.json
_HASHED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256 of large files, once per process
REMEMBER_ABOVE = 4 << 20  # bytes


def sha256_of(path: str | os.PathLike) -> str:
    """The sha256 of a file; a large one (a network's weights) is remembered per path, size and modification
    time, a small one (an input image, which may be rewritten within a clock tick) is read every time."""
    p = Path(path)
    stat = p.stat()
    key = (str(p.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _HASHED:
        return _HASHED[key]
    digest = hashlib.sha256()
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if stat.st_size >= REMEMBER_ABOVE:
        _HASHED[key] = digest.hexdigest()
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _plain(value: Any) -> Any:
    """A value as JSON holds it (tuples as lists, paths as strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclasses.dataclass
class RunRecord:
    """What one command run is made of, filled in as it runs."""

    command: str
    argv: list[str]
    cwd: str
    sidecar: bool = False
    public: bool = False  # for someone else (a web download): networks by checksum, not by where they live
    options: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    seed: int | None = None
    models: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    inputs: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def settings(self) -> dict[str, Any]:
        """The record as written into an image (JSON-ready)."""
        return {"stylekit": __version__, "torch": _version("torch"), "python": platform.python_version(),
                "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": self.command, "argv": list(self.argv),
                "cwd": self.cwd, "seed": self.seed, "options": _plain(self.options), "inputs": self.inputs,
                "models": self.models}


_CURRENT: contextvars.ContextVar[RunRecord | None] = contextvars.ContextVar("stylekit_record", default=None)


def existing_path(text: str, cwd: str) -> Path | None:
    """The absolute path an argument names relative to ``cwd``, when it is a file or folder that exists (None for
    a flag, an empty value, or a place this user may not enter)."""
    if not text or text.startswith("-"):
        return None
    path = Path(cwd, text).expanduser()
    try:
        return path.resolve() if path.exists() else None
    except OSError:  # a folder on the way this user may not enter
        return None


def input_state(entry: dict[str, Any]) -> str:
    """How a remembered input file stands now: ``unchanged``, ``changed since``, ``missing now`` or
    ``unreadable now``."""
    path = Path(str(entry.get("path", "")))
    try:
        if not path.is_file():
            return "missing now"
        return "unchanged" if sha256_of(path) == entry.get("sha256") else "changed since"
    except OSError:
        return "unreadable now"


def _inputs(argv: Sequence[str], cwd: str, skip: Sequence[str]) -> list[dict[str, Any]]:
    """Every argument that names an existing file (or folder) when the run starts, with its checksum (the outputs
    ``skip`` left out)."""
    found = []
    outputs = {str(Path(cwd, s).expanduser().resolve()) for s in skip}
    written = False  # the previous argument names a file the run writes (--history FILE)
    for arg in argv:
        if written or arg.split("=", 1)[0] in WRITTEN_FLAGS:
            written = arg in WRITTEN_FLAGS
            continue
        candidates = [arg] + ([arg.split("=", 1)[1]] if arg.startswith("--") and "=" in arg else [])
        for text in candidates:
            path = existing_path(text, cwd)
            if path is None or str(path) in outputs:
                continue
            entry: dict[str, Any] = {"arg": text, "path": str(path)}
            try:
                if path.is_file() and path.stat().st_size > HASH_AT_MOST:  # a long video: named, not read
                    entry["bytes"] = path.stat().st_size
                elif path.is_file():
                    entry["sha256"], entry["bytes"] = sha256_of(path), path.stat().st_size
                else:
                    entry["folder"] = True
            except OSError:  # unreadable: the run itself says so, in its own words
                entry["unreadable"] = True
            found.append(entry)
    return found


@contextlib.contextmanager
def recording(command: str, argv: Sequence[str], outputs: Sequence[str] = (), cwd: str | None = None,
              inputs: Sequence[tuple[str, bytes]] | None = None, public: bool = False) -> Iterator[RunRecord]:
    """Record the run of ``command`` typed as ``argv`` (every argument after ``stylekit``, the command first) while
    in the block; ``outputs``: the files it writes (not inputs, even when they exist already). ``inputs``: the
    images by name and bytes, where they are not files named on a command line (the web page's)."""
    where = cwd or os.getcwd()
    found = (_inputs(argv[1:], where, outputs) if inputs is None else
             [{"arg": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for name, data in inputs])
    record = RunRecord(command, list(argv), where, inputs=found, public=public)
    token = _CURRENT.set(record)
    try:
        yield record
    finally:
        _CURRENT.reset(token)


def current() -> RunRecord | None:
    """The run being recorded, if any."""
    return _CURRENT.get()


def note_options(options: Any) -> None:
    """Tell the record a resolved options dataclass (every field, by its class's name)."""
    record = _CURRENT.get()
    if record is not None and dataclasses.is_dataclass(options):
        record.options[type(options).__name__] = {f.name: getattr(options, f.name)
                                                  for f in dataclasses.fields(options)}
        record.sidecar = record.sidecar or bool(getattr(options, "sidecar", False))


def note_seed(seed: int) -> None:
    """Tell the record the seed a run's random draws actually used (drawn when none was given)."""
    record = _CURRENT.get()
    if record is not None:
        record.seed = int(seed)


def note_model(name: str, path: str | os.PathLike | None = None, sha256: str | None = None,
               **about: Any) -> None:
    """Tell the record a network the run uses: its file and checksum (computed when not given), or what it is."""
    record = _CURRENT.get()
    if record is None or name in record.models:
        return
    entry: dict[str, Any] = dict(about)
    if path is not None:
        if not record.public:
            entry["file"] = str(path)
        try:
            entry["sha256"] = sha256 or sha256_of(path)
        except OSError:  # missing or unreadable: loading it says so, in its own words
            return
    record.models[name] = _plain(entry)


def image_settings() -> str | None:
    """The current record as the JSON text an image carries, or None outside a recorded run."""
    record = _CURRENT.get()
    return None if record is None else json.dumps(record.settings(), separators=(",", ":"))


def wants_sidecar() -> bool:
    """Whether the run asked for a ``.json`` beside outputs that cannot carry their settings."""
    record = _CURRENT.get()
    return record is not None and record.sidecar


def sidecar_path(path: str | os.PathLike) -> Path:
    """Where an output's settings sidecar goes: ``out.jpg`` -> ``out.jpg.json``."""
    p = Path(path)
    return p.with_name(p.name + SIDECAR)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def with_settings(png: bytes, text: str) -> bytes:
    """PNG bytes with a compressed iTXt chunk ``stylekit`` holding ``text``, put right after the header (any
    earlier ``stylekit`` chunk is replaced): no re-encoding of the pixels."""
    if png[:8] != PNG_SIGNATURE:
        raise ValueError("not PNG data")
    chunks, pos = [], 8
    while pos < len(png):
        length = struct.unpack(">I", png[pos:pos + 4])[0]
        kind, end = png[pos + 4:pos + 8], pos + 12 + length
        body = png[pos + 8:pos + 8 + length]
        if not (kind in (b"iTXt", b"tEXt", b"zTXt") and body.split(b"\0", 1)[0] == KEYWORD.encode()):
            chunks.append(png[pos:end])
        pos = end
    itxt = _chunk(b"iTXt", KEYWORD.encode() + b"\0\x01\0" + b"\0" + b"\0" + zlib.compress(text.encode("utf-8")))
    return png[:8] + chunks[0] + itxt + b"".join(chunks[1:])


def _png_text(path: Path) -> str | None:
    """The ``stylekit`` text chunk of a PNG file, read chunk by chunk up to the pixels (never decoded)."""
    with path.open("rb") as f:
        if f.read(8) != PNG_SIGNATURE:
            return None
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I", head[:4])[0], head[4:]
            if kind in (b"IDAT", b"IEND"):
                return None
            if kind not in (b"iTXt", b"tEXt", b"zTXt") or length > MAX_TEXT:
                f.seek(length + 4, os.SEEK_CUR)
                continue
            body = f.read(length)
            f.seek(4, os.SEEK_CUR)  # the CRC
            keyword, _, rest = body.partition(b"\0")
            if keyword != KEYWORD.encode():
                continue
            if kind == b"tEXt":
                return rest.decode("latin-1")
            if kind == b"zTXt":
                return zlib.decompress(rest[1:]).decode("latin-1")
            compressed, rest = rest[0], rest[2:]  # flag, method; then language and translated keyword
            text = rest.split(b"\0", 2)[2]
            return (zlib.decompress(text) if compressed else text).decode("utf-8")


def _valid(settings: Any) -> bool:
    """Whether remembered settings have the shape ``info`` and ``rerun`` read."""
    return (isinstance(settings, dict) and isinstance(settings.get("argv"), list) and bool(settings["argv"])
            and all(isinstance(a, str) for a in settings["argv"])
            and isinstance(settings.get("options", {}), dict)
            and all(isinstance(v, dict) for v in settings.get("options", {}).values())
            and isinstance(settings.get("inputs", []), list)
            and all(isinstance(e, dict) for e in settings.get("inputs", []))
            and isinstance(settings.get("models", {}), dict)
            and all(isinstance(v, dict) for v in settings.get("models", {}).values())
            and (settings.get("seed") is None or isinstance(settings["seed"], int)))


def read_settings(path: str | os.PathLike) -> dict[str, Any]:
    """The settings an output remembers: its PNG chunk, else its ``.json`` sidecar (checked for shape)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise StylekitError(f"{path} does not exist: give an image stylekit wrote")
    side = sidecar_path(p)
    try:
        text = _png_text(p)
        if text is None and side.is_file():
            text = side.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise StylekitError(f"cannot read {path} ({exc.strerror or exc}): check its permissions") from None
    except (zlib.error, UnicodeDecodeError, IndexError, struct.error):
        raise StylekitError(f"{path}'s stylekit settings are damaged: they cannot be read back") from None
    if text is None:
        raise StylekitError(f"{path} carries no stylekit settings (it was not written by stylekit, or was written "
                            f"by another program since; a JPEG keeps them only in {side.name}, written with "
                            "--sidecar)")
    try:
        settings = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        settings = None
    if not _valid(settings):
        raise StylekitError(f"{path}'s stylekit settings are damaged: they cannot be read back")
    settings.setdefault("options", {})
    settings.setdefault("inputs", [])
    settings.setdefault("models", {})
    return settings
