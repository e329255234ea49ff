"""Device selection, memory queries (no module-level device state), and the bounded cache the loaded networks
are shared through."""
from __future__ import annotations

import os
import resource
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

import torch

from .errors import StylekitError

Loaded = TypeVar("Loaded")
CGROUP_ROOT = Path("/sys/fs/cgroup")  # where the memory limits of a container (cgroup v2, or v1's memory/) live
PROC_CGROUP = Path("/proc/self/cgroup")
UNLIMITED = 2**60  # a cgroup limit at or above this is "no limit"


def resolve_device(name: str | torch.device | None) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when present) as a torch.device, checked."""
    if isinstance(name, torch.device):
        name = str(name)
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise StylekitError(f"unknown device {name!r}: use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise StylekitError("CUDA was asked for but this torch build or machine has no CUDA device: "
                                "use `device` cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise StylekitError(f"no CUDA device {device.index}: this machine has {torch.cuda.device_count()}")
    elif device.type != "cpu":
        raise StylekitError(f"unsupported device {name!r}: use cpu, cuda or cuda:N")
    return device


def available_memory(device: torch.device) -> int:
    """Bytes that a run may still use on ``device``: for the CPU, the least of the machine's MemAvailable, the
    room left under the memory limit of the container (cgroup) the process runs in, and the room left under its
    address-space limit (``ulimit -v``)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    room = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    try:
        with open("/proc/meminfo") as fh:
            room = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        pass
    return max(0, min([room, *_limits_room()]))


def _limits_room() -> Iterator[int]:
    """Bytes left under each memory limit this process runs in: its cgroups' (v2 ``memory.max``, v1
    ``memory.limit_in_bytes``; usage net of the page cache the kernel would reclaim) and its address space's."""
    for limit_file, usage_file, cache_key in _cgroup_files():
        try:
            limit = int(limit_file.read_text().split()[0])
            usage = int(usage_file.read_text().split()[0])
            stat = dict(line.split()[:2] for line in (limit_file.parent / "memory.stat").read_text().splitlines())
        except (OSError, ValueError, IndexError):
            continue
        if limit < UNLIMITED:
            yield limit - max(0, usage - int(stat.get(cache_key, 0)))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            used = 0
        yield soft - used


def _cgroup_files() -> Iterator[tuple[Path, Path, str]]:
    """(limit, usage, memory.stat key of reclaimable cache) of the cgroups this process is in, each level that
    has them (a container sees its own at the root)."""
    try:
        lines = PROC_CGROUP.read_text().splitlines()
    except OSError:
        return
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2
            for folder in {CGROUP_ROOT, CGROUP_ROOT / path.lstrip("/")}:
                yield folder / "memory.max", folder / "memory.current", "inactive_file"
        elif "memory" in controllers.split(","):  # v1
            for folder in {CGROUP_ROOT / "memory", CGROUP_ROOT / "memory" / path.lstrip("/")}:
                yield folder / "memory.limit_in_bytes", folder / "memory.usage_in_bytes", "total_inactive_file"


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively: a CPU with AVX512-BF16 or AMX-BF16 instructions (read from
    /proc/cpuinfo), or a CUDA GPU of compute capability 8.0 or later."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = line.split()
                    return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        pass
    return False


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """The dtype the backbone runs in: ``fp32``; ``bf16`` (bfloat16 convolutions under autocast, losses in
    float32); ``auto``: bf16 on a CPU that has it natively, where it was measured faster with the same result
    quality (docs/benchmarks.md), else fp32."""
    if name == "fp32":
        return torch.float32
    if name == "bf16":
        return torch.bfloat16
    if name == "auto":
        return torch.bfloat16 if device.type == "cpu" and native_bf16(device) else torch.float32
    raise StylekitError(f"unknown precision {name!r}: use fp32, bf16 or auto")


class LoadedCache(Generic[Loaded]):
    """Loaded networks shared by every thread of the process, each under a key (what it was loaded from, the
    device ...), the least recently used dropped beyond a bound: a run that still holds a dropped one keeps it
    alive, and the next one to ask for it loads it anew."""

    def __init__(self) -> None:
        self._kept: OrderedDict[Hashable, Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], Loaded], keep: int) -> Loaded:
        """The value kept under ``key``, else ``load()``'s, kept with at most ``keep`` - 1 others. Loads run one at
        a time under the cache's lock, so threads asking for the same key load it once."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
            value = self._kept[key] = load()
            while len(self._kept) > max(1, keep):
                self._kept.popitem(last=False)
            return value
