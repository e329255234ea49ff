"""Command line: every command's options come from the option dataclasses (see :mod:`stylekit.options`).
Renders progress and errors; imports torch only once a command runs, so ``--help`` stays fast."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .console import (EXIT_BROKEN_PIPE, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, ProgressBar, check_outputs,
                      callbacks_for, finish, progress_bar, require_extra, run_single, warning_printer)
from . import provenance
from .version import __version__
from .errors import StylekitError
from .neural_style import add_arguments as neural_style_arguments
from .neural_style import flag as neural_style_flag
from .options import (PRESETS, BatchOptions, BatchOutput, DreamOptions,
                      DreamOutput, FastOptions, FastOutput, FeaturesOptions, FigureOutput, InvertOptions, LayersOptions,
                      OutputOptions, RecordOptions, ServerConfig, SheetOutput, StylesOptions, TopImagesOptions,
                      TrainOptions, TrainOutput, TransferOptions, VideoOptions, VideoOutput, ZoomOptions, add_arguments,
                      cli_flags, options_from, preset_values, registry)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show "(default: X)" only where there is a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False, True, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage dump) and exit with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True)
class Command:
    """One subcommand: its help, positional arguments, option classes and the function that runs it."""

    summary: str
    description: str
    positionals: tuple[tuple[str, str, str, str | None], ...]  # (dest, metavar, help, nargs)
    options: tuple[type, ...]
    run: Callable[[argparse.Namespace], int]
    defaults: tuple[tuple[str, Any], ...] = ()
    arguments: Callable[[argparse.ArgumentParser], None] | None = None  # a command with its own flags
    flags: Callable[[str], str] | None = None  # how its messages name an option (default: the classes' flags)
    batch: bool = False  # --method NAME picks one of the registry's batch methods


def _flags(command: str | None) -> Callable[[str], str]:
    """How this command's messages name an option: by its flag."""
    found = commands().get(command or "")
    if found is not None and found.flags is not None:
        return found.flags
    if found is None:
        return cli_flags()
    return cli_flags(*found.options, *(registry.batch_methods().values() if found.batch else ()))


def _transfer(args: argparse.Namespace) -> int:
    from .methods.gatys import run_transfer

    options = options_from(args, TransferOptions)
    out = options_from(args, RecordOptions)
    if args.command == "demo":
        from .io.examples import example_content, example_style
        content, styles = example_content(), [example_style()]
    else:
        content, styles = args.content, args.styles
    return run_single(out, [content, *styles, options.init],
                       lambda callbacks: run_transfer(content, styles, options, callbacks))


def _neural_style(args: argparse.Namespace) -> int:
    import torch

    from .io.examples import example_content, example_style
    from .methods.gatys import run_transfer
    from .neural_style import LossPrinter, translate

    run = translate(args, torch.cuda.is_available())
    for note in run.notes:
        print(f"stylekit: note: {note}", file=sys.stderr)
    content = run.content or example_content()
    styles = run.styles or [example_style()]
    printer = LossPrinter(run.print_iter, sum(run.options.steps), lambda text: print(text, flush=True))
    return run_single(run.output, [content, *styles, run.options.init],
                       lambda callbacks: run_transfer(content, styles, run.options, [*callbacks, printer]))


def _invert(args: argparse.Namespace) -> int:
    from .io import load_image, save_image, to_pil
    from .methods.inversion import run_invert, run_invert_sweep, sweep_sheet

    options = options_from(args, InvertOptions)
    out = options_from(args, RecordOptions)
    if not options.layers:
        return run_single(out, [args.image], lambda callbacks: run_invert(args.image, options, callbacks))
    output = check_outputs(out, [args.image])
    source = load_image(args.image)  # fail early on a bad image, before any layer runs
    bar = progress_bar(out)
    try:
        results = run_invert_sweep(source.rgb, options, callbacks_for(out, output, bar, options.layers))
    finally:
        bar.close()
    save_image(sweep_sheet(to_pil(source.rgb), results), output)
    history = [{"layer": r.layer, **h} for r in results for h in r.history]
    return finish(out, output, results[-1].interrupted, history)


def _dream(args: argparse.Namespace) -> int:
    from .io.animation import ANIMATION_FORMATS, save_animation
    from .methods.deepdream import run_dream, run_dream_zoom

    options = options_from(args, DreamOptions)
    zoom = options_from(args, ZoomOptions)
    out = options_from(args, DreamOutput)
    if not zoom.zoom_frames:
        if Path(out.output).suffix.lower() in ANIMATION_FORMATS:
            raise StylekitError(f"-o {Path(out.output).name} is an animation: add --zoom-frames N for a zoom loop, "
                                "or give an image file (.png, .jpg) for one dream")
        return run_single(out, [args.image, options.guide], lambda callbacks: run_dream(args.image, options,
                                                                                          callbacks))
    output = check_outputs(out, [args.image, options.guide], ANIMATION_FORMATS)
    if output.suffix.lower() == ".mp4":
        require_extra("video")
    bar = progress_bar(out, "frame", zoom.zoom_frames)
    try:
        frames = run_dream_zoom(args.image, zoom, options, callbacks_for(out, output, bar))
    finally:
        bar.close()
    save_animation([f.image for f in frames], output, zoom.fps)
    history = [{"frame": i, **h} for i, f in enumerate(frames) for h in f.history]
    return finish(out, output, frames[-1].interrupted, history,
                  f"frame {len(frames)} of {zoom.zoom_frames}: {len(frames)} frames kept")


def _features(args: argparse.Namespace) -> int:
    from .methods.feature_maps import FIGURE_FORMATS, feature_figures, run_features, save_figure

    options = options_from(args, FeaturesOptions)
    out = options_from(args, FigureOutput)
    output = Path(out.output).expanduser()
    per_layer = [output.with_name(f"{output.stem}_{layer}{output.suffix}") for layer in options.layers]
    check_outputs(out, [args.image], FIGURE_FORMATS, per_layer if options.per_layer else ())
    maps = run_features(args.image, options)
    figures = feature_figures(maps, options.color_scale, options.per_layer, options.cmap)
    paths = [save_figure(fig, path) for fig, path in zip(figures, per_layer if options.per_layer else [output])]
    if not out.quiet:
        print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)
    return 0


def _top_images(args: argparse.Namespace) -> int:
    from .io import content_files, save_image
    from .methods.deconv import run_top_images

    options = options_from(args, TopImagesOptions)
    out = options_from(args, OutputOptions)
    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise StylekitError(f"{args.folder} is not a folder: give a folder of images")
    output = check_outputs(out, [])
    sources = [(path.name, path) for path in content_files(folder)]
    if not sources:
        raise StylekitError(f"{args.folder} holds no images (JPEG, PNG, WebP, TIFF or BMP)")
    bar = progress_bar(out, "image", len(sources))
    try:
        result = run_top_images(sources, options, [bar])
    finally:
        bar.close()
    names = [note.removeprefix("skipped ").partition(": ")[0] for note in result.skipped]
    first = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    if result.sheet is None:
        raise StylekitError(f"none of the {len(sources)} files in {args.folder} could be read as an image "
                            f"({first})")
    if len(names) == 1:
        print(f"stylekit: {result.skipped[0]}", file=sys.stderr)
    elif names:
        print(f"stylekit: skipped {len(names)} files that could not be read as images: {first}", file=sys.stderr)
    save_image(result.sheet, output)
    if not out.quiet:
        print(f"stylekit: {result.scanned} images scanned, {len(result.skipped)} skipped", file=sys.stderr)
    return finish(out, output, result.interrupted)


def _fast(args: argparse.Namespace) -> int:
    from .feedforward import FastStylizer, stylize_files
    from .io import batch_outputs, check_distinct, check_writable_folder, content_files, save_image

    options = options_from(args, FastOptions, n_styles=len(args.styles))
    out = options_from(args, FastOutput)
    inputs = [*args.styles, options.mask]
    if not Path(args.content).expanduser().is_dir():
        output = check_outputs(out, [args.content, *inputs])
        save_image(FastStylizer(args.styles, options).stylize_image(args.content), output)
        return finish(out, output, False)
    out_dir = Path(out.output).expanduser()
    if not out_dir.is_dir():
        raise StylekitError(f"in batch mode -o must be an existing folder; {out_dir} is not one")
    plan = batch_outputs(content_files(args.content), check_writable_folder(out_dir, "-o"))
    check_distinct([(path, "-o") for path in plan.values()], inputs)
    todo = {source: path for source, path in plan.items() if out.overwrite or not path.exists()}
    skipped = len(plan) - len(todo)
    stylizer = FastStylizer(args.styles, options)
    bar = progress_bar(out, "image", len(todo))
    try:
        stylize_files(stylizer, todo, callbacks=[bar])
    except KeyboardInterrupt:
        print(f"stylekit: interrupted: {bar.done} of {len(todo)} images written to {out_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    if not out.quiet:
        kept = f"; {skipped} skipped, their output exists (--overwrite redoes them)" if skipped else ""
        print(f"wrote {bar.done} images to {out_dir}{kept}", file=sys.stderr)
    return 0


def _train(args: argparse.Namespace) -> int:
    from .io import check_distinct
    from .training import model_path, run_training

    options = options_from(args, TrainOptions)
    out = options_from(args, TrainOutput)
    path = model_path(out.output, args.styles, options.models_dir)
    check_distinct([(path, "-o")], args.styles)
    bar = progress_bar(out)
    try:
        result = run_training(args.styles, options, str(path), out.resume, out.overwrite, [bar])
    finally:
        bar.close()
    for note in result.notes:
        print(f"stylekit: note: {note}", file=sys.stderr)
    if result.interrupted and not result.new_steps:
        print("stylekit: interrupted before the first step; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.interrupted:
        print(f"stylekit: interrupted at step {result.steps} of {options.steps}: the model so far is in {path} (usable "
              "as it is); run the same command with --resume to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not out.quiet:
        from .options.feedforward import models_folder

        kept = path.parent.resolve() == models_folder(options.models_dir).resolve()
        print(f"wrote {path}: use it with 'stylekit fast CONTENT -o OUT --model {path.stem if kept else path}'",
              file=sys.stderr)
    return 0


def _job(method: registry.Method) -> Callable[[argparse.Namespace], int]:
    """The command of a method that runs its job and writes its image: its inputs as the job takes them."""
    def run(args: argparse.Namespace) -> int:
        options = options_from(args, method.options)
        content = next((getattr(args, i.dest) for i in method.inputs if i.kind == "content"), None)
        styles = [path for i in method.inputs if i.kind in ("style", "styles")
                  for path in (getattr(args, i.dest) if i.nargs else [getattr(args, i.dest)])]
        job = method.code(method.job)
        return run_single(options_from(args, method.output), [content, *styles],
                           lambda callbacks: job(content, styles, options, callbacks))
    return run


def _batch(args: argparse.Namespace) -> int:
    require_extra("cluster")
    from .cluster import run_batch

    batch = options_from(args, BatchOptions)
    method = registry.batch_methods()[batch.method]
    context = {"n_styles": len(args.styles)} if method is FastOptions else {}
    options = options_from(args, method, **context)
    out = options_from(args, BatchOutput)
    bar = ProgressBar(False, "image")  # opened once the job knows its size

    def started(plan: Any) -> None:
        for note in plan.notes:
            print(f"stylekit: note: {note}", file=sys.stderr)
        if not out.quiet:
            kept = f" ({plan.skipped} already done)" if plan.skipped else ""
            print(f"stylekit batch: {plan.describe()}{kept}", file=sys.stderr)
        tty = sys.stderr.isatty()
        bar.start(not out.quiet and tty, plan.unit, plan.inputs, lines=not out.quiet and not tty)

    try:
        report = run_batch(args.input, args.styles, out.output, batch, options, [bar], out.overwrite, started)
    finally:
        bar.close()
    return _summary(report, out.quiet)


def _summary(report: Any, quiet: bool) -> int:
    """The batch job's closing lines: done, skipped and failed (one line each failure, options named by their
    flags), and why it stopped."""
    report = report.in_words(_flags("batch"))
    for note in report.notes:
        print(f"stylekit: note: {note}", file=sys.stderr)
    if not quiet or not report.ok:
        print(f"done: {len(report.done)} written to {report.output}", file=sys.stderr)
        redo = " (their results exist; --overwrite redoes them)" if report.skipped else ""
        print(f"skipped: {len(report.skipped)}{redo}", file=sys.stderr)
        print(f"failed: {len(report.failed)}", file=sys.stderr)
        for name, why in report.failed:
            print(f"  {name}: {why}", file=sys.stderr)
    if report.interrupted:
        print("stylekit: interrupted: what was finished is kept; run the same command again to continue",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if report.stopped:
        print(f"stylekit: stopped: {report.stopped}; run the same command again to continue", file=sys.stderr)
    return 0 if report.ok else EXIT_FAILED


def _styles(args: argparse.Namespace) -> int:
    from .io import save_image
    from .io.examples import example_content

    options = options_from(args, StylesOptions)
    out = options_from(args, SheetOutput)
    if out.output is None:
        print(describe_styles(options.models_dir))
        return 0
    from .feedforward.sheet import contact_sheet

    content = args.content if args.content is not None else example_content()
    output = check_outputs(out, [content])
    save_image(contact_sheet(content, options), output)
    return finish(out, output, False)


def describe_styles(models_dir: str | None) -> str:
    """The built-in styles and each trained model in the models folder, with its styles and how it was trained."""
    from .options import N_BUILTIN
    from .options.feedforward import models_folder, named_model, trained_models

    folder = models_folder(models_dir)
    lines = [f"built-in: {N_BUILTIN} styles, 0-{N_BUILTIN - 1} (stylekit fast CONTENT -o OUT --builtin N; "
             "'stylekit styles -o sheet.png' draws them)"]
    names = trained_models(models_dir)
    if not names:
        return "\n".join([*lines, f"trained models: none in {folder} (make one with 'stylekit train STYLE')"])
    from .feedforward.trained import read_model_file

    lines.append(f"trained models in {folder} (stylekit fast CONTENT -o OUT --model NAME [--builtin N]):")
    for name in names:
        try:
            data = read_model_file(named_model(name, models_dir))
        except StylekitError as exc:
            lines.append(f"  {name}: unusable: {exc}")
            continue
        styles = ", ".join(f"{i}: {s['name']}" for i, s in enumerate(data["styles"]))
        training, options = data["training"], data["options"]
        state = "" if training.get("done", True) else ", unfinished (--resume continues it)"
        lines.append(f"  {name}: {styles} ({training.get('step', '?')} steps, --tune {options.get('tune', '?')}"
                     f"{state})")
    return "\n".join(lines)


def _video(args: argparse.Namespace) -> int:
    require_extra("video")
    from .videos.stylize import run_video, segments, work_dir

    options = options_from(args, VideoOptions)
    out = options_from(args, VideoOutput)
    bar = progress_bar(out, "frame")
    try:
        output = run_video(args.input, args.styles, out.output, options, [bar])
    except KeyboardInterrupt:
        work = work_dir(Path(out.output).expanduser())
        if not work.is_dir():  # stopped before the first frame was finished (run_video left nothing behind)
            raise
        frames = sum(count for _, count in segments(work))
        kept = (f"after {bar.done} frames; {frames} finished frames are kept" if frames or not options.train
                else "before the first frames were finished; the model trained so far is kept")
        print(f"stylekit: interrupted {kept} in {work}: run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    return finish(out, output, False)


def _serve(args: argparse.Namespace) -> int:
    require_extra("web")
    from .web.guards import is_loopback
    from .web.server import serve

    config = options_from(args, ServerConfig)

    def started(url: str) -> None:
        reach = ("only this machine can connect (--host 0.0.0.0 to share it on your network)"
                 if is_loopback(config.host) else "WARNING: anyone who can reach this address can use it")
        print(f"stylekit serve: open {url} ; {reach}; Ctrl-C stops", file=sys.stderr)

    kept = serve(config, started)
    print(f"stylekit serve: stopped; {kept} result{'s' if kept != 1 else ''} kept in {config.store_folder}, "
          f"there when it starts again (each for {config.keep_days:g} days)", file=sys.stderr)
    return 0


def _layers(args: argparse.Namespace) -> int:
    from .backbones import load_backbone

    options = options_from(args, LayersOptions)
    print("\n".join(load_backbone(options.backbone, weights=options.weights).layer_names))
    return 0


def _presets(args: argparse.Namespace) -> int:
    if args.name is None:
        width = max(map(len, PRESETS))
        for preset in PRESETS.values():
            print(f"{preset.name:<{width}}  {preset.source}: {preset.summary}")
        return 0
    if args.name not in PRESETS:
        raise StylekitError(f"unknown preset {args.name!r}: choose one of {', '.join(PRESETS)}")
    print(describe_preset(args.name))
    return 0


def describe_preset(name: str) -> str:
    """A preset's source, its settings as the flags that set them, and its deviations from the printed recipe."""
    from .options import as_typed, cli_flag, specs

    preset = PRESETS[name]
    fields = {f.name: (f, spec) for cls in (TransferOptions, RecordOptions) for f, spec in specs(cls)}
    flags = []
    for key, value in preset.values.items():
        f, spec = fields[key]
        if spec.kind == "bool":
            flags.append(cli_flag(f) if value else "--no-" + cli_flag(f)[2:])
        else:
            typed = as_typed(value, spec.kind)
            flags.append(f"{cli_flag(f)} {'none' if typed is None else typed}")
    lines = [f"{preset.name}: {preset.source}", f"  {preset.summary}", "", "settings (every flag given overrides):"]
    lines += [f"  {flag}" for flag in flags]
    lines += ["", "deviations from the printed recipe:"] + [f"  - {d}" for d in preset.deviations]
    return "\n".join(lines)


OUTPUT_FLAGS = {"neural-style": ("-output_image",)}  # how a command names its output, where not -o/--output
# What a rerun never replays: files the first run wrote besides its image (the first run's stay as they were).
SIDE_OUTPUTS = ("--history", "--save-every", "--intermediates", "--save-name")
RERUNNABLE = ("transfer", "demo", "neural-style", "texture", "invert", "dream", "features", "deconv", "top-images",
              "visualize", "fast", "styles")  # the commands whose images remember them


def _output_of(args: argparse.Namespace) -> list[str]:
    return [str(v) for v in (getattr(args, "output", None), getattr(args, "output_image", None)) if v]


def _names_flag(arg: str, flag: str) -> bool:
    """Whether ``arg`` sets ``flag``: ``--flag``, ``--flag=V``, or an abbreviation argparse would take for it."""
    name = arg.split("=", 1)[0]
    if name == flag:
        return True
    return flag.startswith("--") and name.startswith("--") and len(name) > 3 and flag.startswith(name)


def _strip(argv: Sequence[str], flags: Sequence[str]) -> tuple[list[str], str | None]:
    """``argv`` without ``flags`` and their values (``--flag V``, ``--flag=V``, abbreviated or not), and the last
    value they had."""
    out: list[str] = []
    value, skip = None, False
    for arg in argv:
        if skip:
            value, skip = arg, False
        elif any(_names_flag(arg, flag) for flag in flags):
            if "=" in arg:
                value = arg.split("=", 1)[1]
            else:
                skip = True
        else:
            out.append(arg)
    return out, value


def _absolute(argv: Sequence[str], cwd: str) -> list[str]:
    """Every argument that names an existing file or folder relative to ``cwd`` made absolute (a rerun may run
    elsewhere)."""
    out = []
    for arg in argv:
        flag, eq, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        path = provenance.existing_path(value, cwd)
        out.append(f"{flag}{eq}{value if path is None else path}")
    return out


def _info(args: argparse.Namespace) -> int:
    import json

    settings = provenance.read_settings(args.image)
    if args.json:
        print(json.dumps(settings, indent=2))
        return 0
    print(describe_settings(args.image, settings))
    return 0


def describe_settings(image: str, settings: dict[str, Any]) -> str:
    """What ``stylekit info`` says about an output's remembered settings."""
    import shlex

    lines = [f"{image}: made by stylekit {settings.get('stylekit')} (torch {settings.get('torch')}, Python "
             f"{settings.get('python')}) on {settings.get('made')}",
             f"command: stylekit {shlex.join(settings['argv'])}", f"  run in: {settings.get('cwd')}",
             f"seed: {settings.get('seed') if settings.get('seed') is not None else 'none (no random draws)'}"]
    inputs = settings.get("inputs") or []
    if inputs:
        lines.append("inputs:")
    for entry in inputs:
        if not entry.get("path"):  # an upload to the web page: known by its name and checksum
            lines.append(f"  {entry.get('arg')}: uploaded, sha256 {str(entry.get('sha256'))[:16]}")
            continue
        if entry.get("folder"):
            lines.append(f"  {entry.get('arg')}: folder {entry['path']}")
            continue
        lines.append(f"  {entry.get('arg')}: {entry['path']} sha256 {str(entry.get('sha256'))[:16]} "
                     f"({provenance.input_state(entry)})")
    models = settings.get("models") or {}
    if models:
        lines.append("networks:")
    for name, about in models.items():
        detail = ", ".join(f"{k} {str(v)[:16] if k == 'sha256' else v}" for k, v in about.items())
        lines.append(f"  {name}: {detail}")
    for cls, values in (settings.get("options") or {}).items():
        lines.append(f"options ({cls}, as resolved):")
        lines += [f"  {name} = {json_value(value)}" for name, value in values.items()]
    lines.append(f"run it again: stylekit rerun {shlex.quote(image)} [-o NEW.png] [any option to change]")
    return "\n".join(lines)


def json_value(value: Any) -> str:
    """A remembered option value as it reads best."""
    return "none" if value is None else ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _rerun(args: argparse.Namespace) -> int:
    import shlex

    settings = provenance.read_settings(args.image)
    argv, cwd = settings["argv"], str(settings.get("cwd") or ".")
    command = argv[0]
    if command not in RERUNNABLE:
        raise StylekitError(f"{args.image} remembers the command {command[:40]!r}, which 'stylekit rerun' does not "
                            f"run again (it runs {', '.join(RERUNNABLE)})")
    out_flags = OUTPUT_FLAGS.get(command, ("-o", "--output"))
    overrides, given = _strip(args.overrides, out_flags)  # -o given after the image lands among the overrides
    output = given or args.output
    if output is None:
        source = Path(args.image)
        output = str(source.with_name(f"{source.stem}-rerun{source.suffix}"))
    replay, _ = _strip(argv[1:], [*out_flags, *SIDE_OUTPUTS])
    replay = _absolute(replay, cwd)
    options = [o for o in settings["options"].values() if isinstance(o, dict)]
    if settings.get("seed") is not None and command == "neural-style":
        replay += ["-seed", str(settings["seed"])]  # the seed it ran with (its -seed -1 draws one)
    elif settings.get("seed") is not None and any("seed" in o and o["seed"] is None for o in options):
        replay += ["--seed", str(settings["seed"])]  # the seed the first run drew
    for entry in settings["inputs"]:
        if entry.get("sha256") and provenance.input_state(entry) == "changed since":
            print(f"stylekit rerun: note: {entry['path']} changed since {args.image} was made: the result will "
                  "differ", file=sys.stderr)
    line = [command, *replay, *overrides, out_flags[0], output]
    print(f"stylekit rerun: stylekit {shlex.join(line)}", file=sys.stderr)
    return main(line)


NOT_RECORDED = ("info", "rerun", "serve", "presets", "layers")  # commands whose runs write no remembered image

# Commands that are not one method of the registry, and where each goes in the list of commands.
EXTRA: dict[str, tuple[str, Command]] = {
    "demo": ("transfer", Command(
        "transfer on the built-in example images", "Style transfer of a built-in photo (Grace Hopper, public domain, "
        "shipped with matplotlib) with a built-in swirling painting.", (), (TransferOptions, RecordOptions),
        _transfer, (("output", "stylized.png"),))),
    "neural-style": ("demo", Command(
        "jcjohnson/neural-style's command line", "Run a neural_style.lua command line: 'th neural_style.lua ARGS' is "
        "'stylekit neural-style ARGS' (single-dash flags, neural-style's defaults and loss semantics; see 'stylekit "
        "presets neural-style'). Flags naming Torch internals are noted and ignored.", (), (), _neural_style,
        arguments=neural_style_arguments, flags=neural_style_flag)),
    "batch": ("fast", Command(
        "stylise a folder of images or a video on Ray (this machine's cores, or a cluster)",
        "Stylise every image in INPUT and its subfolders (or every frame of the video INPUT, in chunks processed in "
        "parallel, temporal consistency kept across chunks) into the folder -o, on Ray: a Ray started on this "
        "machine's cores, or the cluster at --address. Each result keeps its input's path and extension; a rerun "
        "skips what is done; a broken file fails alone and is listed at the end (exit code 1). --method transfer "
        "optimises each image instead ('stylekit batch --method transfer --help' lists its options). Needs the "
        "cluster extra: pip install 'stylekit[cluster]'.",
        (("input", "INPUT", "a folder of images (searched recursively) or a video", None),
         ("styles", "STYLE", "style image(s); none with --builtin or a trained --model", "*")),
        (BatchOptions, FastOptions, BatchOutput), _batch, batch=True)),
    "styles": ("batch", Command(
        "the built-in styles and your trained models", "List the 26-style network's built-in styles and the trained "
        "models in --models-dir; with -o, draw CONTENT (default: the built-in example photo) in each of them, "
        "numbered as 'stylekit fast --builtin N' (and '--model NAME --builtin N') takes them.",
        (("content", "CONTENT", "photo to show the styles on", "?"),), (StylesOptions, SheetOutput), _styles)),
    "video": ("styles", Command(
        "stylise a video with temporal consistency", "Stylise every frame of INPUT (frame rate and audio kept), "
        "warping the previous stylised frame along the optical flow to avoid flicker. An interrupted job resumes "
        "when run again with the same arguments.",
        (("input", "INPUT", "input video (anything FFmpeg reads: .mp4, .mov, .mkv, ...)", None),
         ("styles", "STYLE", "style image(s); none with a trained --model", "*")),
        (VideoOptions, VideoOutput), _video)),
    "serve": ("video", Command(
        "the web UI", "Serve the web UI: upload pictures, pick a method, watch the image appear, download the "
        "result. Optimisations wait in a queue; fast jobs run beside them.", (), (ServerConfig,), _serve)),
    "presets": ("serve", Command(
        "list the recipes --preset offers", "List the presets (the seed tutorials', the Gatys et al. paper's, "
        "neural-style's), or show one preset's settings and how it deviates from its printed recipe.",
        (("name", "NAME", "a preset to show in full", "?"),), (), _presets)),
    "layers": ("presets", Command(
        "list a backbone's layer names", "List the layer names of a backbone.", (), (LayersOptions,), _layers)),
    "info": ("layers", Command(
        "how an output was made", "Print the settings an image stylekit wrote remembers: the command as typed, "
        "every option as resolved, the seed, stylekit's and torch's versions, the input files and networks with "
        "their checksums. A PNG carries them inside; a JPEG in its .json sidecar (--sidecar).",
        (("image", "IMAGE", "an image stylekit wrote", None),), (), _info, arguments=lambda p: p.add_argument(
            "--json", action="store_true", help="print the settings as JSON"))),
    "rerun": ("info", Command(
        "run an output's command again", "Run the command that made IMAGE again, with its seed, so the same inputs "
        "on the same machine give the same pixels; any option given after IMAGE changes that one (e.g. --size "
        "1024). Writes -o, default IMAGE-rerun.png beside it.",
        (("image", "IMAGE", "an image stylekit wrote", None),
         ("overrides", "OPTION", "options to change, as the command takes them", argparse.REMAINDER)), (), _rerun,
        arguments=lambda p: p.add_argument("-o", "--output", help="where to write (default: IMAGE-rerun.png)"))),
}
# The methods whose command does more than run its job and write its image.
HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "transfer": _transfer, "invert": _invert, "dream": _dream, "features": _features, "top-images": _top_images,
    "fast": _fast, "train": _train}


def method_command(method: registry.Method) -> Command:
    """The command of a registered method: its inputs as positionals, its options and output options."""
    positionals = tuple((i.dest, i.metavar, i.help, i.nargs) for i in method.inputs)
    return Command(method.summary, method.description, positionals, (method.options, *method.more, method.output),
                   HANDLERS.get(method.name) or _job(method))


def commands() -> dict[str, Command]:
    """Every command: each registered method's, and the others in their places."""
    found = {name: method_command(m) for name, m in registry.METHODS.items()}
    for name, (after, command) in EXTRA.items():
        keys = list(found)
        place = keys.index(after) + 1 if after in found else len(keys)
        found = {**dict(list(found.items())[:place]), name: command, **dict(list(found.items())[place:])}
    return found


def named(argv: Sequence[str], flag: str) -> str | None:
    """What a command line gives ``flag`` (``--flag NAME`` or ``--flag=NAME``; the last one counts), before
    parsing: some flags decide which options the parser offers."""
    found = None
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith(flag + "="):
            found = arg.split("=", 1)[1]
    return found


def preset_named(argv: Sequence[str]) -> str | None:
    """The preset a command line names with ``--preset NAME`` (or ``--preset=NAME``), if it is one."""
    found = named(argv, "--preset")
    return found if found in PRESETS else None


def build_parser(preset: str | None = None, method: str | None = None) -> argparse.ArgumentParser:
    """The ``stylekit`` argument parser, generated from :func:`commands` and the option dataclasses; with
    ``preset``, the options of the commands that take one default to the preset's values (so ``--help`` shows them
    and every flag given still overrides); with ``method``, commands with methods offer that method's options."""
    parser = OneLineParser(prog="stylekit", description="Neural style transfer on frozen CNN features.")
    parser.add_argument("--version", action="version", version=f"stylekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name, command in commands().items():
        p = sub.add_parser(name, formatter_class=HelpFormatter, help=command.summary,
                           description=command.description, allow_abbrev=not command.batch)  # --meth: no
        for dest, metavar, help_text, nargs in command.positionals:
            p.add_argument(dest, metavar=metavar, help=help_text, nargs=nargs)
        defaults = dict(command.defaults)
        options = command.options
        batch_methods = registry.batch_methods() if command.batch else {}
        if method in batch_methods:
            options = (BatchOptions, batch_methods[method], BatchOutput)
        if preset is not None and TransferOptions in options:
            defaults = {**preset_values(preset), **defaults}
        for cls in options:
            add_arguments(p, cls, defaults)
        if command.arguments is not None:
            command.arguments(p)
    return parser


def _interrupt(signum: int, frame: object) -> None:
    """The first Ctrl-C (or SIGTERM) stops the run; later ones are ignored while its result is written."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stylekit`` command; returns the exit code."""
    try:
        line = sys.argv[1:] if argv is None else argv
        args = build_parser(preset_named(line), named(line, "--method")).parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors (already printed on one line)
        return int(exc.code or 0)
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_warning, warnings.showwarning = warnings.showwarning, warning_printer(_flags(args.command))
    try:
        with contextlib.ExitStack() as stack:
            if args.command not in NOT_RECORDED:  # every image it writes remembers how it was made
                stack.enter_context(provenance.recording(args.command, line, _output_of(args)))
            code = commands()[args.command].run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:  # `stylekit layers | head`: the reader has what it wanted; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to write at exit
        return EXIT_BROKEN_PIPE
    except StylekitError as exc:
        print(f"stylekit: error: {exc.render(_flags(args.command))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("stylekit: interrupted before any result was ready; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        warnings.showwarning = previous_warning


if __name__ == "__main__":
    sys.exit(main())
