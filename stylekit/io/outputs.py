"""Everything a run writes: checked before any work starts, written atomically, never over an input or another
output of the same run, with no temporary file left behind by a crash."""
from __future__ import annotations

import errno
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import StylekitError

STALE_SECONDS = 3600  # a temporary file of ours with no live writer older than this is debris
WRITABLE = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF",
            ".tiff": "TIFF", ".bmp": "BMP"}  # image formats, by extension


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _why_not_writable(exc: OSError) -> str:
    """Why a file cannot be created in a folder that exists, in words (a special folder such as /proc answers
    "No such file or directory")."""
    reasons = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "a read-only file system", errno.ENOSPC: "the disk is full",
               errno.EDQUOT: "the disk quota is used up",
               errno.ENOENT: "it takes no new files: a system or virtual folder"}
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def check_writable_folder(folder: str | os.PathLike, what: str) -> Path:
    """``folder`` exists, is a folder, and a file can be created in it (tried, then removed)."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise StylekitError(f"folder {path} for {what} does not exist: create it or choose another")
    try:
        fd, probe = tempfile.mkstemp(prefix=".stylekit-probe-", dir=path)
    except OSError as exc:
        raise StylekitError(f"cannot write in {path} ({_why_not_writable(exc)}): choose another folder for {what}") \
            from None
    os.close(fd)
    os.unlink(probe)
    return path


def check_output_path(path: str | os.PathLike, suffixes: Iterable[str] | None = tuple(WRITABLE),
                      what: str = "the output") -> Path:
    """An output file path, checked before any work: one of ``suffixes`` (default: the image formats; None:
    any), not a folder, in a folder that exists and can be written."""
    out = Path(path).expanduser()
    if out.is_dir():
        raise StylekitError(f"{what} {out} is a folder: give a file name inside it")
    allowed = sorted(suffixes or ())
    if allowed and out.suffix.lower() not in allowed:
        raise StylekitError(f"{what} {out.name}: the extension must be one of {', '.join(allowed)}")
    check_writable_folder(_folder(out), what)
    if not replaceable(out):
        raise StylekitError(f"{what} {out} exists and belongs to another user in a shared folder, so it cannot be "
                            "replaced: choose another name")
    return out


def replaceable(path: Path) -> bool:
    """Whether an existing ``path`` can be replaced by a rename in its folder: not in a sticky folder (such as
    /tmp) where it is neither this user's nor in this user's folder (root may always)."""
    try:
        info, folder = path.lstat(), _folder(path).stat()
    except FileNotFoundError:
        return True
    uid = os.geteuid()
    return not folder.st_mode & stat.S_ISVTX or uid in (0, info.st_uid, folder.st_uid)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_distinct(outputs: Sequence[tuple[Path, str]], inputs: Iterable[object]) -> None:
    """No output may be one of the run's input files, and no two outputs may share a path."""
    files = [Path(i).expanduser() for i in inputs if isinstance(i, (str, os.PathLike)) and Path(i).expanduser()
             .is_file()]
    for i, (out, what) in enumerate(outputs):
        for source in files:
            if _same(out, source):
                raise StylekitError(f"{what} {out} is one of the inputs: writing it would destroy {source.name}; "
                                    "choose another path")
        for other, other_what in outputs[:i]:
            if _same(out, other):
                raise StylekitError(f"{other_what} and {what} are both {out}: give them different paths")


def _started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), None where /proc cannot say; -1 for a process that
    was killed and not yet reaped (a zombie: its writing is over)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    if fields[0] in ("Z", "X"):
        return -1.0
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _stale(tmp: Path) -> bool:
    """A temporary file of :func:`write_atomic` whose writer is gone: its pid is not running, is a killed process
    not yet reaped, or is a later process that reuses the number (it started after the file was last written);
    for a name without a pid, one older than an hour."""
    parts = tmp.name.split(".")
    pid = next((int(p[3:]) for p in parts if p.startswith("pid") and p[3:].isdigit()), None)
    written = tmp.stat().st_mtime
    if pid is None:
        return time.time() - written > STALE_SECONDS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # a live process of another user: /proc still tells a reused number or a zombie
    started = _started(pid)
    return started is not None and (started < 0 or started > written + 1)


def _umask_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (mkstemp would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place, so a crash or
    Ctrl-C never leaves a half-written ``path``. The file gets the permissions a plain write would. Temporary
    files that earlier writers of ``path`` left behind (killed with -9) are removed first."""
    out = Path(path)
    for old in _folder(out).glob(f".{out.name}.*.tmp{out.suffix}"):
        try:
            if _stale(old):
                old.unlink()
        except OSError:
            pass
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.pid{os.getpid()}.", suffix=".tmp" + out.suffix,
                                        dir=_folder(out))
    except OSError as exc:  # the folder changed since it was checked
        raise StylekitError(f"cannot write {out} ({_why_not_writable(exc)}): choose another folder") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, out)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise StylekitError(f"cannot replace {out} (permission denied): choose another name or folder") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


@contextmanager
def job_lock(work: Path, output: Path, name: str = "lock", what: str = "stylekit video", remove: bool = False,
             advice: str = "wait for it or choose another -o") -> Iterator[None]:
    """Make ``work`` and hold an exclusive lock in it (the file ``name``) while the job runs (``flock``: the kernel
    drops it when the process ends, even by kill -9, so a lock is never stale); another job on the same output,
    in any process or thread, is refused in one line naming ``what`` holds it and ending in ``advice``.
    ``remove``: the lock file goes when the job ends (a job that was waiting on it notices and locks a new one)."""
    lock = work / name
    while True:
        work.mkdir(exist_ok=True)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            continue  # the job that held it removed the folder as it finished: make it again
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise StylekitError(f"another {what} is writing {output}{pid}: {advice}") from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # locked a file its holder removed with the folder as it finished: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        if remove:
            Path(lock).unlink(missing_ok=True)  # still locked: nobody takes this file in between
        os.close(fd)


def batch_outputs(files: Sequence[Path], out_dir: Path, suffix: str = ".png") -> dict[Path, Path]:
    """Output path per input file of a batch: ``<name>_stylized<suffix>``, or ``<name>_<ext>_stylized<suffix>``
    for inputs that share a name (a.png and a.jpg). An input that is itself the planned output of another input
    (a rerun with -o the input folder) is an output, not an input, and is left out."""
    def name(path: Path, with_ext: bool) -> str:
        ext = f"_{path.suffix.lstrip('.').lower()}" if with_ext else ""
        return f"{path.stem}{ext}_stylized{suffix}"

    stems: dict[str, int] = {}
    for path in files:
        stems[path.stem] = stems.get(path.stem, 0) + 1
    plan = {path: out_dir / name(path, stems[path.stem] > 1) for path in files}
    planned = {p.resolve() for p in plan.values()}
    return {source: out for source, out in plan.items() if source.resolve() not in planned}
