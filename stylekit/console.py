"""What the command line shows and writes around a run: progress (a bar on a terminal, plain lines off one),
the checks of every file a command will write, the closing lines, and the exit codes. The core never prints;
these are the command line's callbacks and words."""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import StylekitError, StylekitWarning, render
from .options import OutputOptions, RecordOptions

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # as a program killed by SIGPIPE, like the shell's own tools


def callbacks_for(out: OutputOptions, output: Path, bar: ProgressBar, items: Sequence[str] = ()) -> list[Any]:
    """The progress bar and, with --save-every, an intermediates writer (its folder checked by
    :func:`check_outputs`)."""
    from .io import save_image
    from .optim import SaveEvery

    callbacks: list[Any] = [bar]
    if isinstance(out, RecordOptions) and out.save_every:
        folder = Path(out.intermediates).expanduser() if out.intermediates else output.parent
        suffix = output.suffix if output.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp") else ".png"
        tag = "_{item}" if items else ""
        pattern = folder / (out.save_name.replace("{stem}", output.stem.replace("{", "{{").replace("}", "}}") + tag)
                            + suffix)
        callbacks.append(SaveEvery(out.save_every, str(pattern), lambda img, path: save_image(img, path), items,
                                   out.save_final))
    return callbacks


def check_outputs(out: OutputOptions, inputs: Sequence[object], suffixes: Sequence[str] | None = None,
                  outputs: Sequence[str | Path] = ()) -> Path:
    """Every file the command will write, checked before any work: -o (``suffixes``: its formats, default the
    image formats), or ``outputs`` instead where one -o names several files; --history and the --save-every
    folder. None may be an input, no two the same. Returns -o as a path."""
    from .io import WRITABLE, check_distinct, check_output_path, check_writable_folder

    allowed = tuple(suffixes or WRITABLE)
    output = check_output_path(out.output, allowed, "-o")
    written = [(check_output_path(path, allowed, "-o"), "-o") for path in outputs] or [(output, "-o")]
    if isinstance(out, RecordOptions):
        if out.history:
            written.append((check_output_path(out.history, None, "--history"), "--history"))
        if out.save_every:
            check_writable_folder(out.intermediates or output.parent, "--intermediates")
    check_distinct(written, inputs)
    return output


class ProgressBar:
    """Progress on stderr: optimisation steps (scale, image size, loss), or items (frames, images, layers) with
    their rate. A tqdm bar on a terminal; off one (a log file, nohup, CI) a plain line per scale and every
    :attr:`EVERY` seconds; none with -q. It counts finished items and remembers how far a run got either way."""

    EVERY = 10.0  # seconds between plain lines off a terminal

    def __init__(self, enabled: bool, unit: str = "step", total: int = 0, lines: bool = False) -> None:
        self.enabled, self.lines, self.unit, self.bar, self.done = enabled, lines, unit, None, 0
        self.total, self.reached, self.said = total, "", 0.0
        if unit != "step":
            self._open(total)

    def start(self, enabled: bool, unit: str, total: int, lines: bool = False) -> None:
        """Open an item bar of ``total`` items anew (a job that learns its size after it starts)."""
        self.close()
        self.enabled, self.lines, self.unit, self.done, self.total = enabled, lines, unit, 0, total
        self._open(total)

    def _open(self, total: int, desc: str | None = None) -> None:
        if self.bar is None and self.enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=total or None, unit=self.unit, file=sys.stderr, dynamic_ncols=True, desc=desc)

    def _say(self, text: str, force: bool = False) -> None:
        """A plain progress line, off a terminal: at once when ``force``, else at most every EVERY seconds."""
        now = time.monotonic()
        if self.lines and (force or now - self.said >= self.EVERY):
            self.said = now
            print(f"stylekit: {text}", file=sys.stderr, flush=True)

    def on_scale_start(self, scale: int, size: tuple[int, int], steps: int) -> None:
        if self.bar is not None and self.unit == "step":
            self.bar.set_description(f"scale {scale + 1} {size[1]}x{size[0]}")
        if self.unit == "step":
            self._say(f"scale {scale + 1}: {size[1]}x{size[0]} px, up to {steps} steps", force=True)

    def on_stage(self, stage: str) -> None:
        """A long stage that is not a step or an item (training a model first): one line, above the bar."""
        if self.bar is not None:
            self.bar.write(f"stylekit: {stage}", file=sys.stderr)
        elif self.enabled or self.lines:
            print(f"stylekit: {stage}", file=sys.stderr, flush=True)

    def on_step(self, progress: Any) -> None:
        coarse = ", a coarse scale enlarged to the output size" if progress.scale + 1 < progress.num_scales else ""
        self.reached = (f"scale {progress.scale + 1} of {progress.num_scales} ({progress.size[1]}x{progress.size[0]} "
                        f"px{coarse}), step {progress.step} of {progress.total_steps}")
        if self.unit == "step":
            self._open(progress.total_steps, f"scale {progress.scale + 1} {progress.size[1]}x{progress.size[0]}")
            if self.bar is not None:
                self.bar.update(progress.step - self.bar.n)
            left = progress.elapsed / progress.step * (progress.total_steps - progress.step) if progress.step else 0
            self._say(f"step {progress.step}/{progress.total_steps}, loss {progress.loss:.4g}, "
                      f"{progress.elapsed:.0f} s, about {left:.0f} s left")
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{progress.loss:.4g}", refresh=False)

    def on_item(self, progress: Any) -> None:
        self.done = progress.done
        total = progress.total or self.total
        self._say(f"{progress.done}/{total or '?'} {self.unit}s done", force=bool(total) and progress.done == total)
        if self.bar is None:
            return
        if self.unit == "step":  # a sweep: one step bar per item
            self.close()
            return
        if progress.total and self.bar.total != progress.total:
            self.bar.total = progress.total
        self.bar.update(progress.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

EXTRAS = {"video": ("av", "cv2"), "web": ("starlette", "uvicorn", "websockets"),
          "cluster": ("ray", "pyarrow", "pandas")}


def require_extra(extra: str) -> None:
    """A one-line error when an optional part's packages are not installed."""
    from importlib.util import find_spec

    missing = [name for name in EXTRAS[extra] if find_spec(name) is None]
    if missing:
        raise StylekitError(f"this command needs the {extra} extra ({', '.join(missing)} not installed): "
                            f"pip install 'stylekit[{extra}]'")

def warning_printer(flags: Callable[[str], str]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints one line, options named by their ``flags``."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        kind = "warning" if issubclass(category, StylekitWarning) else "note"
        print(f"stylekit: {kind}: {render(str(message), flags)}", file=sys.stderr)
    return show


def finish(out: OutputOptions, output: Path, interrupted: bool, history: list | None = None,
            reached: str = "") -> int:
    """Write --history, then say what was written; ``reached``: how far an interrupted optimisation got."""
    from .io import write_atomic

    if isinstance(out, RecordOptions) and out.history:
        text = json.dumps(history or [], indent=1)
        write_atomic(Path(out.history).expanduser(), lambda tmp: tmp.write_text(text))
    if interrupted:
        where = f" (stopped at {reached})" if reached else ""
        print(f"stylekit: interrupted: wrote the best result so far to {output}{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not out.quiet:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def progress_bar(out: OutputOptions, unit: str = "step", total: int = 0) -> ProgressBar:
    """A bar on a terminal, plain lines elsewhere, nothing with -q."""
    tty = sys.stderr.isatty()
    return ProgressBar(not out.quiet and tty, unit, total, lines=not out.quiet and not tty)


def run_single(out: OutputOptions, inputs: Sequence[object], run: Callable[[list[Any]], Any]) -> int:
    """Run one method with progress (and, with record options, intermediates); write its image atomically."""
    from .io import save_image

    output = check_outputs(out, inputs)
    bar = progress_bar(out)
    try:
        result = run(callbacks_for(out, output, bar))
    finally:
        bar.close()
    save_image(result.image, output)
    return finish(out, output, result.interrupted, result.history, bar.reached)
