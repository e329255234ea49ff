"""Training a fast model on the transfer's objective (Johnson et al. 2016's perceptual loss: content, style and
smoothness on VGG features), started from Magenta's arbitrary network so a CPU gets a good model in minutes.

The transformer starts as Magenta's, and each style's conditional-norm scales and shifts as what Magenta's style
predictor gives that style; ``tune`` says what then learns: the style vector, the norms (one row per style, as in
Dumoulin et al. 2017) or every weight. Each step stylises a batch of random crops of the photos (one style per
step, in turn) and takes one Adam step on the objective; with ``temporal_weight`` each crop also has a copy shifted
by a few pixels, whose output must be the first's shifted the same way (Huang et al. 2017's output temporal
loss, on synthetic motion with its exact flow).

Each step's crops come from a generator seeded by the seed and the step number, so a run resumed from a
checkpoint takes exactly the steps the uninterrupted run would have taken.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import FeatureExtractor
from ..devices import available_memory, resolve_precision
from ..errors import OutOfMemoryEstimate, StylekitError
from ..feedforward.magenta import Magenta, predictor_input
from ..feedforward.shared import load_model, styles_key
from ..feedforward.trained import Trained, read_model_file, thumbnail_tensor, write_model_file
from ..feedforward.weights import resolve
from ..io import ImageLike, image_tree, load_image, resize, target_hw, to_pil
from ..io.examples import example_photos
from ..methods.common import run_context
from ..methods.gatys import content_terms, objective_style_terms
from ..objectives import Objective, TotalVariation, total
from ..optim import Callback, Progress, StopRun
from ..options import TrainOptions, validate
from ..options.choices import FAST_MODELS, MAGENTA_STYLE_SIZE, MODEL_SUFFIX
from ..options.feedforward import is_model_path, named_model
from ..options.training import MAX_STYLES
from ..planning import estimate_peak_bytes

SHIFT = 8  # largest synthetic motion (pixels each way) of the temporal loss's crop pairs
ZOOM = 1.5  # crops are squares of one to this many crop sides of a photo, resized to the crop side
TRANSFORMER_BYTES = 3 * 320  # bytes per pixel a transformer pass keeps for its backward (3x Magenta's forward)
RESUMABLE = ("steps", "checkpoint_every", "device", "precision", "models_dir", "weights_dir")  # a resume may change


@dataclass
class TrainResult:
    """What a training run did: the model file, the loss per step, and whether Ctrl-C stopped it early."""

    path: Path
    history: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False
    steps: int = 0  # steps done in all (with those of the run resumed)
    new_steps: int = 0  # steps this run took (0: interrupted before its first; nothing was written)
    notes: list[str] = field(default_factory=list)  # photos skipped, folders that could not be read


class Learner(nn.Module):
    """The network being trained: Magenta's transformer with one row of norm parameters per style, computed from
    learnt 100-number style vectors (``tune`` vector) or learnt themselves (norms, all)."""

    def __init__(self, magenta: Magenta, vectors: torch.Tensor, tune: str) -> None:
        super().__init__()
        t = magenta.transformer
        with torch.random.fork_rng(devices=[]):  # initial weights (overwritten) leave torch's global RNG alone
            self.net = Trained(**t.architecture(), rows=len(vectors))
        self.net.transformer.load_state_dict(t.state_dict())
        self.tune = tune
        self.scales, self.shifts = copy.deepcopy(magenta.scales), copy.deepcopy(magenta.shifts)
        self.vectors = nn.Parameter(vectors.clone())
        self._rows_from_vectors()
        self.requires_grad_(False)
        for p in self.learnt():
            p.requires_grad_(True)

    def _projected(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        v = self.vectors[:, :, None, None]
        return [(scale(v).flatten(1), shift(v).flatten(1)) for scale, shift in zip(self.scales, self.shifts)]

    @torch.no_grad()
    def _rows_from_vectors(self) -> None:
        """Set the norm rows to what the style vectors give (Magenta's projections)."""
        for gamma, beta, (scale, shift) in zip(self.net.gammas, self.net.betas, self._projected()):
            gamma.copy_(scale)
            beta.copy_(shift)

    def learnt(self) -> list[nn.Parameter]:
        """The parameters ``tune`` trains, in a fixed order (the optimizer's state follows it)."""
        if self.tune == "vector":
            return [self.vectors]
        rows = [*self.net.gammas, *self.net.betas]
        return rows if self.tune == "norms" else [*self.net.transformer.parameters(), *rows]

    def bake(self) -> Trained:
        """The trained network as it is used: with vector tuning, the rows its vectors give."""
        if self.tune == "vector":
            self._rows_from_vectors()
        return self.net

    def forward(self, x: torch.Tensor, style: int) -> torch.Tensor:
        rows = self._projected() if self.tune == "vector" else zip(self.net.gammas, self.net.betas)
        return self.net.transformer(x, [(g[style][None, :, None, None], b[style][None, :, None, None])
                                        for g, b in rows])


class Crops:
    """Random square crops of the training photos, each photo brought to ``side`` px long side (the output size
    the model is made for): a random photo, a random square of it between one and :data:`ZOOM` crop sides
    resized to the crop side, mirrored half the time; with ``margin``, each crop is read with that many extra
    pixels around it (the temporal loss's shifted copies)."""

    def __init__(self, files: Sequence[Path], size: int, side: int, margin: int = 0) -> None:
        self.size, self.margin = size, margin
        self.photos: list[torch.Tensor] = []  # uint8, so a folder of hundreds of photos stays small
        self.notes: list[str] = []
        for path in files:
            try:
                rgb = load_image(path, "training photo").rgb
            except StylekitError as exc:
                self.notes.append(f"skipped {path.name}: {exc}")
                continue
            rgb = resize(rgb, target_hw(*rgb.shape[-2:], side))
            self.photos.append((rgb * 255).round().to(torch.uint8))
        if not self.photos:
            raise StylekitError("none of the training photos could be read: give a folder of photos with `images`",
                                "images")

    def batch(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """(count, 3, size + 2 margin, size + 2 margin) crops in [0, 1]."""
        side = self.size + 2 * self.margin
        out = []
        for _ in range(count):
            photo = self.photos[int(torch.randint(len(self.photos), (1,), generator=generator))]
            h, w = photo.shape[-2:]
            low = min(h, w, side)
            high = min(h, w, max(low, round(side * ZOOM)))
            crop = low + int(torch.randint(high - low + 1, (1,), generator=generator))
            top = int(torch.randint(h - crop + 1, (1,), generator=generator))
            left = int(torch.randint(w - crop + 1, (1,), generator=generator))
            piece = resize(photo[..., top:top + crop, left:left + crop].float() / 255, (side, side))
            if bool(torch.randint(2, (1,), generator=generator)):
                piece = piece.flip(-1)
            out.append(piece)
        return torch.cat(out)


def shifted_pair(crops: torch.Tensor, margin: int, generator: torch.Generator) \
        -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """The centre of each margin-padded crop, its copy moved by a random (dy, dx) of at most ``margin`` px, and
    (dy, dx): pixel (i, j) of the copy is pixel (i + dy, j + dx) of the centre."""
    dy, dx = (int(torch.randint(-margin, margin + 1, (1,), generator=generator)) for _ in range(2))
    side = crops.shape[-1] - 2 * margin
    centre = crops[..., margin:margin + side, margin:margin + side]
    moved = crops[..., margin + dy:margin + dy + side, margin + dx:margin + dx + side]
    return centre, moved, (dy, dx)


def consistency_loss(first: torch.Tensor, second: torch.Tensor, shift: tuple[int, int]) -> torch.Tensor:
    """The output temporal loss of a pair related by a known ``shift`` (see :func:`shifted_pair`): the mean squared
    difference between ``second`` and ``first`` moved the same way, over the pixels both show (0 for a perfectly
    consistent pair)."""
    dy, dx = shift
    h, w = first.shape[-2:]
    a = first[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
    b = second[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return (a - b).pow(2).mean()


@contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM that arrive during the block take effect after it (their handler runs then): a step is
    taken and counted, or a file written, whole. Only the main thread receives signals; elsewhere nothing
    changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), caught[0])


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of one step's random choices: the same for a step whether or not the run was resumed."""
    digest = hashlib.sha256(f"{seed}:{step}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "big") >> 1)


def training_peak_bytes(backbone: FeatureExtractor, opts: TrainOptions) -> int:
    """Estimated peak memory of one training step: the objective's backward through the backbone for each image
    of the batch (twice with the temporal loss), and the transformer's."""
    passes = opts.batch_size * (2 if opts.temporal_weight > 0 else 1)  # the transformer's (VGG sees one half)
    layers = [*opts.content_layers, *opts.style_layers]
    one = estimate_peak_bytes(backbone, layers, (opts.size, opts.size), "adam", 1)
    return opts.batch_size * one + passes * TRANSFORMER_BYTES * opts.size ** 2


def model_path(output: str | None, styles: Sequence[Any], models_dir: str | None) -> Path:
    """Where the model goes: ``output`` as given when it is a path (it names a folder or ends in ``.pt``); a bare
    name (or, without ``output``, the first style's file name) as ``NAME.pt`` in the models folder."""
    if output is None:
        first = styles[0]
        output = Path(first).stem if isinstance(first, (str, os.PathLike)) else "my-style"
    if not is_model_path(output):
        if output in FAST_MODELS or output.startswith("."):
            raise StylekitError(f"a trained model cannot be called {output!r} (a shipped model's name, or hidden): "
                                "give another name with `output`", "output")
        return named_model(output, models_dir)
    path = Path(output).expanduser()
    if path.suffix != MODEL_SUFFIX:
        raise StylekitError(f"the model file {output} must end in {MODEL_SUFFIX} (or be a bare name, kept in "
                            "`models_dir`)", "output")
    return path


def _plain(options: TrainOptions) -> dict[str, Any]:
    """The options as plain values (what the model file keeps)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(options).items()}


class Trainer:
    """One training run (see the module's docstring); :meth:`run` trains and writes the model file."""

    def __init__(self, styles: Sequence[ImageLike], options: TrainOptions, path: Path, resume: bool = False,
                 backbone: FeatureExtractor | None = None) -> None:
        if not styles:
            raise StylekitError("give at least one style image to learn")
        if len(styles) > MAX_STYLES:
            raise StylekitError(f"{len(styles)} styles: one model holds at most {MAX_STYLES}; train several models")
        self.opts, self.path = validate(options), path
        opts = self.opts
        loaded = [load_image(s, f"style image {i + 1}") for i, s in enumerate(styles)]
        self.names = [Path(s).stem if isinstance(s, (str, Path)) else f"style {i + 1}" for i, s in enumerate(styles)]
        files, self.notes = (image_tree(opts.images) if opts.images is not None else (example_photos(), []))
        if not files:
            raise StylekitError(f"no photos in {opts.images}: give a folder of photos with `images`", "images")
        layers = [*opts.content_layers, *opts.style_layers]
        ctx = run_context(opts, layers, backbone)
        self.backbone, self.device = ctx.backbone, ctx.device
        self.dtype = resolve_precision(opts.precision, self.device)
        need, free = training_peak_bytes(self.backbone, opts), available_memory(self.device)
        if need > free:
            raise OutOfMemoryEstimate(f"a training step of {opts.batch_size} crops of {opts.size} px needs about "
                                      f"{need / 2**30:.1f} GiB but {free / 2**30:.1f} GiB is free on {self.device}: "
                                      "lower `batch_size` or `size`")
        self.crops = Crops(files, opts.size, opts.style_size, SHIFT if opts.temporal_weight > 0 else 0)
        style_long = max(16, round(opts.style_size * opts.style_scale))
        self.styles = [resize(s.rgb, target_hw(*s.rgb.shape[-2:], style_long)) for s in loaded]
        self.thumbnails = [thumbnail_tensor(to_pil(s.rgb)) for s in loaded]
        self.digests = [styles_key([s]) for s in self.styles]
        with torch.random.fork_rng(devices=[]):
            magenta = load_model("magenta", resolve("magenta", opts.weights_dir), torch.device("cpu"))
        magenta = magenta.float().to(memory_format=torch.contiguous_format)
        sized = [resize(s.rgb, target_hw(*s.rgb.shape[-2:], MAGENTA_STYLE_SIZE)) for s in loaded]
        vectors = torch.cat([magenta.style_vector(predictor_input(s)) for s in sized])
        self.learner = Learner(magenta, vectors, opts.tune).to(self.device)
        self.optimizer = torch.optim.Adam(self.learner.learnt(), lr=opts.lr)
        self.seed = opts.seed if opts.seed is not None else secrets.randbits(62)
        self.step, self.seconds = 0, 0.0  # steps taken and seconds spent before this run (a resumed one)
        if resume:
            self._resume()
        generator = torch.Generator().manual_seed(self.seed)
        with torch.no_grad():  # per style, per scale (1, 1/2, ...): the terms with their targets
            self.style_terms = [[objective_style_terms(self.backbone, [scaled.to(self.device)], [1.0], opts,
                                                       tuple(scaled.shape[-2:]), generator=generator)
                                 for scaled in (resize(s, target_hw(*s.shape[-2:], max(16, max(s.shape[-2:]) >> k)))
                                                for k in range(opts.style_scales))]
                                if opts.style_layers and opts.style_weight > 0 else [[]] for s in self.styles]
        self.tv = ([TotalVariation(opts.tv_beta, opts.tv_kind, opts.tv_reduction) * opts.tv_weight]
                   if opts.tv_weight > 0 else [])

    def _resume(self) -> None:
        """Take the weights, optimizer state and step of the checkpoint at the model path; its options and styles
        must be this run's (but for :data:`RESUMABLE`)."""
        if not self.path.is_file():
            raise StylekitError(f"nothing to resume: {self.path} does not exist (leave out `resume` to start)",
                                "resume")
        data = read_model_file(self.path)
        training = data["training"]
        if "step" not in training:
            raise StylekitError(f"{self.path} holds no training state to resume (it was not written by this "
                                "stylekit's train); leave out `resume` to start anew", "resume")
        then, now = data["options"], _plain(self.opts)
        for key, value in now.items():
            if key not in RESUMABLE and key != "seed" and then.get(key) != value:
                raise StylekitError(f"{self.path} was trained with `{key}` {then.get(key)!r}, not {value!r}: resume "
                                    "with the options it was started with", key)
        if [s.get("digest") for s in data["styles"]] != self.digests:
            raise StylekitError(f"{self.path} was trained on other style images: resume with the same ones", "resume")
        if self.opts.seed is not None and self.opts.seed != training["seed"]:
            raise StylekitError(f"{self.path} was trained with `seed` {training['seed']}, not {self.opts.seed}", "seed")
        try:
            with torch.no_grad():
                self.learner.net.load_state_dict(data["network"].state_dict())
                self.learner.vectors.copy_(training["vectors"])
            self.optimizer.load_state_dict(training["optimizer"])
            self.seed, self.step = int(training["seed"]), int(training["step"])
            self.seconds = float(training.get("seconds", 0.0))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise StylekitError(f"{self.path}'s training state is damaged ({str(exc).splitlines()[0][:100]}): leave "
                                "out `resume` (and give `overwrite`) to start anew", "resume") from None

    def save(self, done: bool, seconds: float) -> Path:
        """Write the model so far (usable as it is) with what resuming needs (``seconds``: trained so far)."""
        styles = [{"name": n, "thumbnail": t, "digest": d} for n, t, d in zip(self.names, self.thumbnails,
                                                                               self.digests)]
        training = {"step": self.step, "seed": self.seed, "done": done, "seconds": seconds,
                    "vectors": self.learner.vectors.detach(),
                    "optimizer": self.optimizer.state_dict()}
        return write_model_file(self.path, self.learner.bake(), styles, _plain(self.opts), training)

    def _precision(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.dtype == torch.bfloat16)

    def loss(self, step: int) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
        """Step ``step``'s loss (with its terms, averaged over the batch) and its first output image."""
        opts = self.opts
        generator = step_generator(self.seed, step)
        style = step % len(self.styles)
        crops = self.crops.batch(opts.batch_size, generator).to(self.device)
        shift = (0, 0)
        if opts.temporal_weight > 0:
            centre, moved, shift = shifted_pair(crops, SHIFT, generator)
            crops = torch.cat([centre, moved])
        with self._precision():
            out = self.learner(crops, style).float()
        half = opts.batch_size  # the crops the objective sees (the shifted copies only meet the temporal loss)
        layers = sorted({*opts.content_layers, *opts.style_layers})
        feats = self.backbone(out[:half], layers, dtype=self.dtype)
        with torch.no_grad():
            targets = (self.backbone(crops[:half], opts.content_layers, dtype=self.dtype) if opts.content_weight > 0
                       else {})
        sums: dict[str, torch.Tensor] = {}

        def add(objective: Objective, image: torch.Tensor, features: dict[str, torch.Tensor], i: int,
                suffix: str = "") -> None:
            terms = objective.terms(image[i:i + 1], {k: v[i:i + 1] for k, v in features.items()})
            for name, value in terms.items():
                sums[name + suffix] = sums.get(name + suffix, 0) + value / opts.batch_size

        scales = self.style_terms[style]
        for i in range(opts.batch_size):
            parts: list[Objective] = content_terms(opts, {k: v[i:i + 1] for k, v in targets.items()}) if targets else []
            add(total([*parts, *scales[0], *self.tv]), out, feats, i)
        for k, terms in enumerate(scales[1:], 1):  # the style as a smaller view of the output shows it
            seen = F.avg_pool2d(out[:half], 2 ** k)
            coarse = self.backbone(seen, opts.style_layers, dtype=self.dtype)
            for i in range(opts.batch_size):
                add(total(terms), seen, coarse, i, f" (1/{2 ** k})")
        if opts.temporal_weight > 0:
            sums["temporal"] = consistency_loss(out[:half], out[half:], shift) * opts.temporal_weight
        loss = sum(sums.values())
        return loss, {k: float(v.detach()) for k, v in sums.items()}, out[:1].detach()

    def run(self, callbacks: Sequence[Callback] = ()) -> TrainResult:
        """Train up to ``steps`` (from the checkpoint's step when resumed), writing the model every
        ``checkpoint_every`` steps, at the end and when interrupted (Ctrl-C, or a callback raising StopRun)."""
        opts = self.opts
        size = (opts.size, opts.size)
        for cb in callbacks:
            cb.on_scale_start(0, size, opts.steps)
        history: list[dict[str, float]] = []
        start, first = time.perf_counter(), self.step
        interrupted = False

        def seconds() -> float:  # trained so far, with the run resumed
            return self.seconds + time.perf_counter() - start

        try:
            while self.step < opts.steps:
                loss, terms, image = self.loss(self.step)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise StylekitError(f"the loss became {value} at step {self.step + 1}: lower `lr`", "lr")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                with signals_held():  # a step is taken and counted, or not at all
                    self.optimizer.step()
                    self.step += 1
                    history.append({"loss": value, **terms})
                if opts.checkpoint_every and self.step % opts.checkpoint_every == 0 and self.step < opts.steps:
                    with signals_held():
                        self.save(False, seconds())
                progress = Progress(self.step, opts.steps, 0, 1, size, value, terms, seconds(), image)
                for cb in callbacks:
                    cb.on_step(progress)
        except (KeyboardInterrupt, StopRun):
            interrupted = True
        if self.step > first:
            with signals_held():
                self.save(self.step >= opts.steps, seconds())
        return TrainResult(self.path, history, interrupted, self.step, self.step - first,
                           [*self.notes, *self.crops.notes])
