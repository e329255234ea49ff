"""Where a command writes and how much it says: the output options of every command."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .choices import STEPS_MAX
from .schema import FieldNamer, OptionError, option


def _overwrite(help_text: str) -> Any:
    return option(False, help_text, "bool", group="output")


@dataclass
class OutputOptions:
    """Where a command writes, and how much it says."""

    output: str | None = option(None, "output image (.png, .jpg, .webp, .tif, .bmp)", "path", group="output",
                                short="-o", flag="--output", required=True)
    quiet: bool = option(False, "no progress bar or messages", "bool", group="output", short="-q")
    sidecar: bool = option(False, "also write the settings to OUTPUT.json beside a JPEG, WebP, TIFF or BMP output "
                           "(a PNG always carries them inside; see 'stylekit info')", "bool", group="output")


@dataclass
class RecordOptions(OutputOptions):
    """Output, intermediates and loss history of an optimising command."""

    save_every: int = option(0, "write the current image every N steps (0: never)", "int", low=0, high=STEPS_MAX,
                             group="output")
    intermediates: str | None = option(None, "folder for --save-every images (default: next to the output)",
                                       "path", optional=True, group="output")
    save_name: str = option("{stem}_{step:05d}", "file name of each --save-every image, without its extension: "
                            "{stem} is the output's name, {step} the step", "text", group="output")
    history: str | None = option(None, "write the per-step loss history to this JSON file", "path", optional=True,
                                 group="output")
    save_final: bool = option(True, "with --save-every, also write the last step under the intermediates' name "
                              "(neural-style's -save_iter does not: its last iteration is the output only)", "bool",
                              group="output")

    def check(self, name: FieldNamer) -> None:
        """The intermediates' name must say where the step goes."""
        try:
            named = self.save_name.format(stem="x", step=1, item="x")
        except (KeyError, IndexError, ValueError):
            named = ""
        if "{step" not in self.save_name or not named or "/" in named or "\\" in named:
            raise OptionError(f"{name('save_name')} must be a file name containing {{step}} (and optionally "
                              f"{{stem}}), got {self.save_name!r}")


@dataclass
class DreamOutput(RecordOptions):
    """Dream's output may be an animation."""

    output: str | None = option(None, "output image, or .gif/.mp4 with --zoom-frames", "path", group="output",
                                short="-o", flag="--output", required=True)


@dataclass
class FigureOutput(OutputOptions):
    """A matplotlib figure file."""

    output: str | None = option(None, "figure file (.png, .jpg, .pdf, .svg)", "path", group="output",
                                short="-o", flag="--output", required=True)


@dataclass
class FastOutput(OutputOptions):
    """An image, or a folder in batch mode."""

    output: str | None = option(None, "output image; in batch mode an existing folder (files named "
                                "<name>_stylized.png)", "path", group="output", short="-o", flag="--output",
                                required=True)
    overwrite: bool = _overwrite("batch mode: stylise again the images whose output exists (default: skip them)")


@dataclass
class BatchOutput(OutputOptions):
    """A folder of results, each named by its input's path inside INPUT."""

    output: str | None = option(None, "output folder (made if missing): each result keeps its input's path inside "
                                "INPUT and its extension; a video's result is named like the video", "path",
                                group="output", short="-o", flag="--output", required=True)
    overwrite: bool = _overwrite("stylise again the inputs whose output exists (default: skip them, so a rerun "
                                 "resumes)")


@dataclass
class VideoOutput(OutputOptions):
    """A video file."""

    output: str | None = option(None, "output video (.mp4, .mkv, .mov)", "path", group="output", short="-o",
                                flag="--output", required=True)


@dataclass
class SheetOutput(OutputOptions):
    """The styles' contact sheet, or (without -o) their list."""

    output: str | None = option(None, "contact sheet to write (.png, .jpg, ...); without it, list the styles and the "
                                "trained models", "path", group="output", short="-o", flag="--output", optional=True)
