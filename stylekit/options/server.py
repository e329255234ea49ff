"""Settings of the web server (``stylekit serve``)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .common import WeightsDirOptions, user_data_folder
from .schema import FieldNamer, OptionError, option


@dataclass
class ServerConfig(WeightsDirOptions):
    """Settings of ``stylekit serve``."""

    host: str = option("127.0.0.1", "address to listen on; the default accepts this machine only (0.0.0.0: "
                       "every network)", "text", group="server")
    port: int = option(7860, "port to listen on (0: any free port)", "int", low=0, high=65535, group="server")
    workers: int = option(1, "optimisation jobs run at once", "int", low=1, group="server")
    quick_workers: int = option(1, "fast stylisations and feature maps run at once, beside the optimisations",
                                "int", low=1, group="server")
    preview_every: int = option(5, "optimisation steps between preview images", "int", low=1, group="server")
    max_upload_mb: float = option(20.0, "largest accepted upload, in megabytes", "float", above=0, group="limits")
    max_pixels: int = option(25_000_000, "largest accepted image, in pixels", "int", low=1, group="limits")
    max_side: int = option(2048, "longest output side a job may ask for, in pixels", "int", low=16,
                           group="limits")
    allowed_hosts: Sequence[str] | None = option(None, "other host names the server answers to, comma-separated (it "
                                                 "always answers to localhost, 127.0.0.1, [::1] and --host); "
                                                 "requests naming any other host are refused", "names",
                                                 optional=True, group="server")
    max_waiting: int = option(50, "jobs waiting per queue", "int", low=1, group="limits")
    max_waiting_per_session: int = option(10, "jobs one page (session) may have waiting, across the queues, so no "
                                           "one fills them", "int", low=1, high=100_000, group="limits")
    max_pages: int = option(8, "open pages (live connections) one session may have", "int", low=1, high=10_000,
                            group="limits")
    max_client_pages: int = option(32, "open pages (live connections) one address may have, across its sessions",
                                   "int", low=1, high=100_000, group="limits")
    page_idle: float = option(120.0, "seconds a page's connection may stay silent before it is closed (the page "
                              "pings every 30 s and reconnects), so idle connections do not hold sessions", "float",
                              above=0, high=86400, group="limits")
    max_images: int = option(16, "uploaded images kept per session (oldest dropped)", "int", low=1, cli=False)
    max_sessions: int = option(100, "sessions at once; a new one replaces the longest idle session that has no open "
                               "page, no running job and no kept result, or is refused when there is none", "int",
                               low=1, high=100_000, group="limits")
    max_uploads_mb: float = option(1024.0, "megabytes of memory uploads may hold while they arrive (with the "
                                   "image views made for the page)", "float", above=0, high=1e6, group="limits")
    body_timeout: float = option(30.0, "seconds a request body may stall before the request is dropped (408)",
                                 "float", above=0, high=3600, group="limits")
    body_deadline: float = option(600.0, "seconds a whole request body may take, however it trickles in (408)",
                                  "float", above=0, high=86400, group="limits")
    header_timeout: float = option(10.0, "seconds a client may take to send a request's headers before the "
                                   "connection is closed (a client trickling them holds nothing)", "float",
                                   above=0, high=3600, group="limits")
    max_steps: int = option(5000, "optimisation steps a job may ask for in all", "int", low=1, high=10_000_000,
                            group="limits")
    max_job_seconds: float = option(900.0, "seconds a job may run; then it stops like a cancel, keeping its best "
                                    "image", "float", above=0, high=7 * 86400, group="limits")
    keep_minutes: float = option(30.0, "minutes a session with no kept result (its pictures and unfinished jobs) "
                                 "is kept after its page was last open, so a reload, a closed tab or a dropped "
                                 "connection loses nothing", "float", above=0, high=7 * 24 * 60, group="limits")
    keep_days: float = option(7.0, "days each finished result is kept on disk, whatever its page does (with its "
                              "session and pictures), within --max-disk-mb", "float", above=0, high=3650,
                              group="limits")
    max_disk_mb: float = option(2048.0, "megabytes the server's store may use on disk; when it is full the oldest "
                                "results are removed first", "float", above=0, high=1e9, group="limits")
    data_dir: str | None = option(None, "folder where the server keeps pictures, jobs and results, so a restart "
                                  "loses nothing (default: stylekit/server in the user data folder, "
                                  "$XDG_DATA_HOME or ~/.local/share)", "path", optional=True, group="server")
    examples_dir: str | None = option(None, "folder of extra example images offered on the page", "path",
                                      optional=True, group="models and examples", flag="--examples")

    def check(self, name: FieldNamer) -> None:
        """Settings that need the file system."""
        if self.examples_dir is not None and not Path(self.examples_dir).expanduser().is_dir():
            raise OptionError(f"{name('examples_dir')} {self.examples_dir} is not a folder")

    @property
    def store_folder(self) -> Path:
        """The folder of the server's store: ``data_dir``, else ``stylekit/server`` in the user data folder."""
        return Path(self.data_dir).expanduser() if self.data_dir else user_data_folder() / "server"
