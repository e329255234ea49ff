"""The Ray side of a batch job: start a Ray on this machine or join a cluster, plan how many workers fit, and
stream a Ray Data ``map_batches`` over a callable class (the model loaded once per worker) back to the caller.

Nothing here prints: Ray's own progress bars and log lines are turned off, and its errors come back as one-line
:class:`~stylekit.errors.StylekitError` messages.
"""
from __future__ import annotations

import logging
import math
import os
import re
import signal
import socket
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import StylekitError

INSTALL = "pip install 'stylekit[cluster]'"
CLIENT_PORT = 10001  # Ray Client's port on the head node (ray://host)
GCS_PORT = 6379  # the head node's own port (host:port without ray://)
CONNECT_SECONDS = 10.0  # how long the address may take to answer before it counts as unreachable
LOCAL_OBJECT_STORE = 2 * 2**30  # shared memory for results in flight on this machine (Ray's default: 30% of RAM)
MAX_BLOCKS = 20_000  # one input per block up to this many: results stream back one by one
RELAY_ROWS = 16  # output rows waiting in the cluster for the driver, and fetched at once
RELAY_WAIT = 1.0  # seconds one fetch waits for a row


def import_ray() -> Any:
    """Ray with Ray Data, or a one-line error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data needs pyarrow and pandas, which the extra brings
    except ImportError as exc:
        raise StylekitError(f"batch jobs run on Ray, which is not installed ({exc.name or exc}): {INSTALL}") from None
    return ray


def local_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Cluster:
    """What a job runs on: this machine (a Ray started for the job) or a cluster at ``address``."""

    address: str | None  # None: a Ray on this machine
    cpus: float
    gpus: float
    memory: int  # bytes Ray may reserve for workers, all nodes together
    node_cpus: float  # the largest node's
    node_memory: int

    @property
    def where(self) -> str:
        """The machine or cluster, in words."""
        return "this machine" if self.address is None else f"the Ray cluster at {self.address}"


def _host_port(address: str) -> tuple[str, int] | None:
    """Where to check an address answers: ray://host[:port] or host:port (None for Ray's own "auto")."""
    client = address.startswith("ray://")
    rest = address[len("ray://"):] if client else address
    if rest in ("auto", "local"):
        return None
    host, _, port = rest.rpartition(":") if ":" in rest.strip("[]") else (rest, "", "")
    if not port:
        return rest.strip("[]"), CLIENT_PORT if client else GCS_PORT
    if not port.isdigit() or not host:
        raise StylekitError(f"`address` {address!r} is not an address: give ray://HOST:{CLIENT_PORT} or HOST:PORT")
    return host.strip("[]"), int(port)


def _check_reachable(address: str) -> None:
    """A one-line error, within seconds, when nothing answers at ``address`` (Ray itself would wait for minutes)."""
    target = _host_port(address)
    if target is None:
        return
    try:
        socket.create_connection(target, timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise StylekitError(f"cannot reach the Ray cluster at {address} ({reason}): start it with 'ray start --head' "
                            "on the head node, or check the address, the port and the firewall") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _quiet(ray: Any) -> None:
    """No Ray progress bars or log lines on the terminal (the job shows its own bar and summary), and every
    batch a worker yields sent on at once (a block per batch), so results stream back one by one."""
    with warnings.catch_warnings():  # Ray Data warns about its own deprecated settings on any change
        warnings.simplefilter("ignore")
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        context.target_max_block_size = 1
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _describe(ray: Any, address: str | None) -> Cluster:
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive", True)]
    total = ray.cluster_resources()
    return Cluster(address, float(total.get("CPU", 0)), float(total.get("GPU", 0)), int(total.get("memory", 0)),
                   max((float(n.get("CPU", 0)) for n in nodes), default=0.0),
                   max((int(n.get("memory", 0)) for n in nodes), default=0))


def _start(ray: Any, address: str | None) -> None:
    """``ray.init`` for one job, its failures as one-line errors; the process's own signal handlers are kept
    (Ray's would make SIGTERM exit at once, without the job's summary)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        settings.update(num_cpus=local_cores(), object_store_memory=LOCAL_OBJECT_STORE)
    else:
        _check_reachable(address)
    main = threading.current_thread() is threading.main_thread()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
    where = f"the Ray cluster at {address}" if address else "Ray on this machine"
    try:
        ray.init(address=address, **settings)
    except BaseException as exc:
        if ray.is_initialized():
            ray.shutdown()
        if not isinstance(exc, Exception):
            raise
        if isinstance(exc, ValueError) and address and address.startswith("ray://"):  # without Ray Client
            raise StylekitError(f"cannot connect to {address}: {_first_line(exc)} ({INSTALL})") from None
        raise StylekitError(f"cannot start {where} ({_first_line(exc)})" if address is None else
                            f"cannot connect to {where} ({_first_line(exc)}): check that it runs the same Ray "
                            "version as here") from None
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


@contextmanager
def ray_session(address: str | None = None) -> Iterator[Cluster]:
    """Ray for one job: a Ray already started in this process (used as it is, ``address`` aside), else the
    cluster at ``address`` or ``$RAY_ADDRESS``, else a Ray started on this machine's cores; the Ray this starts
    or joins is shut down after."""
    ray = import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    started = not ray.is_initialized()
    if started:
        _start(ray, address)
    try:
        yield _describe(ray, address)
    finally:
        if started:
            ray.shutdown()


@dataclass(frozen=True)
class WorkerPlan:
    """How a job's workers are laid out: how many, and what each reserves."""

    workers: int
    cpus: int  # cores (torch threads) per worker
    gpus: float
    memory: int  # bytes each reserves: its estimated peak

    def describe(self) -> str:
        """The plan in words: workers × cores, GPUs, memory each."""
        gpus = f", {self.gpus:g} GPU" if self.gpus else ""
        return (f"{self.workers} worker{'s' * (self.workers != 1)} × {self.cpus} core{'s' * (self.cpus != 1)}{gpus}, "
                f"about {self.memory / 2**30:.1f} GiB each")


def plan_workers(cluster: Cluster, peak: int, items: int, workers: int | None = None,
                 cpus_per_worker: int | None = None, gpus_per_worker: float = 0.0) -> tuple[WorkerPlan, list[str]]:
    """As many workers as asked (default: as many as fit), no more than the CPUs, the GPUs and the memory hold
    with each reserving its estimated ``peak`` bytes, nor than there are ``items``; with notes on what was cut.
    On this machine each worker gets an equal share of the cores unless ``cpus_per_worker`` says otherwise."""
    cpus = cpus_per_worker or 1
    if cpus > cluster.node_cpus:
        raise StylekitError(f"each worker would need {cpus} cores but the largest node of {cluster.where} has "
                            f"{cluster.node_cpus:g}: use `cpus_per_worker` {int(cluster.node_cpus) or 1} or less")
    if gpus_per_worker and gpus_per_worker > cluster.gpus:
        fix = f"give at most `gpus_per_worker` {cluster.gpus:g}" if cluster.gpus else "drop `gpus_per_worker`"
        raise StylekitError(f"{cluster.where} has {cluster.gpus:g} GPUs: {fix}")
    notes = []
    memory = peak
    if memory > cluster.node_memory > 0:
        notes.append(f"a worker may need about {peak / 2**30:.1f} GiB but the largest node of {cluster.where} offers "
                     f"{cluster.node_memory / 2**30:.1f} GiB: one worker per node, which tiles or refuses what does "
                     "not fit")
        memory = cluster.node_memory
    limits = {"CPU cores": int(cluster.cpus // cpus), "memory": cluster.memory // memory if memory else items}
    if gpus_per_worker:
        limits["GPUs"] = int(cluster.gpus // gpus_per_worker)
    fit = max(1, min(limits.values()))
    count = max(1, min(workers or fit, fit, items))
    if workers and count < min(workers, items):
        short = min(limits, key=limits.get)
        notes.append(f"{workers} workers asked, {count} fit ({short}: each worker needs about "
                     f"{memory / 2**30:.1f} GiB and {cpus} core{'s' * (cpus != 1)})")
    if cluster.address is None and cpus_per_worker is None:
        cpus = max(1, int(cluster.cpus) // count)
    return WorkerPlan(count, cpus, gpus_per_worker, memory), notes


def _root_error(exc: BaseException) -> str:
    """The message of the user error behind a Ray exception, or its first line."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StylekitError):
            return current.template
        current = getattr(current, "cause", None) or current.__cause__
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return re.sub(r"^stylekit\.errors\.\w+: ", "", lines[-1]) if lines else type(exc).__name__


class Relay:
    """Runs a job's ``map_batches`` inside the cluster, in a background thread, and hands its output rows out in
    small lots: a Ray Client driver (ray://) cannot run Ray Data itself, and this way every job streams the same
    way. At most :data:`RELAY_ROWS` rows wait here; then the map waits for the driver."""

    def __init__(self, rows: list[dict[str, Any]], worker: type, arguments: dict[str, Any], plan: WorkerPlan) -> None:
        import queue
        import threading

        self.queue: Any = queue.Queue(maxsize=RELAY_ROWS)
        threading.Thread(target=self._run, args=(rows, worker, arguments, plan), daemon=True).start()

    def _run(self, rows: list[dict[str, Any]], worker: type, arguments: dict[str, Any], plan: WorkerPlan) -> None:
        ray = import_ray()
        _quiet(ray)
        try:
            dataset = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), MAX_BLOCKS)))
            mapped = dataset.map_batches(
                worker, batch_size=1, compute=ray.data.ActorPoolStrategy(size=plan.workers), num_cpus=plan.cpus,
                num_gpus=plan.gpus or None, memory=plan.memory or None, max_restarts=0,
                fn_constructor_kwargs={**arguments, "threads": plan.cpus})
            for row in mapped.iter_rows():
                self.queue.put(("row", row))
            self.queue.put(("end", None))
        except Exception as exc:  # Ray's errors: a worker that failed to start or died
            self.queue.put(("error", _root_error(exc)))

    def take(self, most: int, wait: float) -> list[tuple[str, Any]]:
        """Up to ``most`` waiting items, ("row", row), then ("end", None) or ("error", message); waits up to
        ``wait`` seconds for the first."""
        import queue

        try:
            items = [self.queue.get(timeout=wait)]
        except queue.Empty:
            return []
        while len(items) < most:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return items


def stream_map(rows: Sequence[Mapping[str, Any]], worker: type, arguments: Mapping[str, Any],
               plan: WorkerPlan) -> Iterator[dict[str, Any]]:
    """Run ``worker(**arguments)`` on ``plan.workers`` Ray actors (Ray Data ``map_batches``, one row per call,
    driven by a :class:`Relay` in the cluster) over ``rows``; yield its output rows as they finish, in any order.
    A worker that cannot start or that dies stops the job with a one-line error. Close the generator (e.g.
    ``contextlib.closing``) to stop the job early."""
    ray = import_ray()
    relay = ray.remote(num_cpus=0, max_restarts=0)(Relay).remote(list(rows), worker, dict(arguments), plan)
    try:
        while True:
            try:
                items = ray.get(relay.take.remote(RELAY_ROWS, RELAY_WAIT))
            except Exception as exc:  # Ray's errors, or a Ray Client connection lost
                raise StylekitError(f"the workers stopped: {_root_error(exc)}") from None
            for kind, value in items:
                if kind == "error":
                    raise StylekitError(f"the workers stopped: {value}")
                if kind == "end":
                    return
                yield value
    finally:
        try:
            ray.kill(relay)
        except Exception:  # already gone with its cluster: nothing to stop
            pass


def chunk_bounds(total: int, chunk: int) -> list[tuple[int, int]]:
    """[start, stop) of consecutive chunks of ``chunk`` items covering ``total``."""
    return [(start, min(total, start + chunk)) for start in range(0, total, chunk)]


def even_chunk(total: int, workers: int, overlap: int, per_worker: int = 4) -> int:
    """A chunk length that gives each worker about ``per_worker`` chunks, at least four times ``overlap`` (so the
    frames run twice stay a small share)."""
    return max(1, min(total, max(4 * overlap, math.ceil(total / (workers * per_worker)))))
