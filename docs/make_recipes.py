"""Write docs/recipes.md from finished runs: a folder (argument, default /tmp/recipes) holding <preset>.png,
times.txt lines "<preset> rc=0 seconds=S" and, where measured, cpu.txt lines "<preset> cpu=USER+SYS" (from
/usr/bin/time -f "P cpu=%U+%S"), made by running, in that folder, for each preset P:

    stylekit transfer $IMAGES/tubingen.jpg $IMAGES/starry_night.jpg -o P.png --preset P --seed 0 --intermediates inter_P
"""
import re
import sys
from pathlib import Path
from PIL import Image
from stylekit.options import PRESETS

runs = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/recipes")
# What a finished run showed that its numbers do not say.
OBSERVED = {"keras-lbfgs": "Observed: from noise at these weights the style terms dominate, and after the 50 outer "
                           "iterations the content has not emerged (the tutorial ran VGG16, not obtainable here); "
                           "raise `--content-weight` for a recognisable picture.",
            "gatys2016": "Observed: from white noise the style dominates (the x2-rescaled average pooling keeps "
                         "max-pooling magnitudes); the content shows as the church and the houses' outline."}
docs = Path(__file__).resolve().parent
times = {}
for line in (runs / "times.txt").read_text().splitlines():
    m = re.match(r"(\S+) rc=(\d+) seconds=([\d.]+)", line)
    if m and m.group(2) == "0":
        times[m.group(1)] = float(m.group(3))
cpu = {}
if (runs / "cpu.txt").is_file():
    for line in (runs / "cpu.txt").read_text().splitlines():
        m = re.match(r"(\S+) cpu=([\d.]+)\+([\d.]+)", line)
        if m:
            cpu[m.group(1)] = float(m.group(2)) + float(m.group(3))


def shown(name: str) -> str:
    """A run's time: wall seconds, or for a run that shared the machine, its CPU time over the two cores."""
    if name in cpu:
        return f"about {cpu[name] / 2:.0f} s ({cpu[name]:.0f} CPU-seconds on 2 cores; the run shared the machine)"
    return f"{times[name]:.0f} s"
out = ["# Recipes: each seed tutorial, the paper and neural-style in one command", "",
       "Every preset runs its document's own layers, loss formulas, weights and optimizer settings "
       "(`stylekit presets NAME` prints the flags it sets). Results below: `tubingen.jpg` with `starry_night.jpg` "
       "from `../shared/images`, `--seed 0`, at the preset's own size (512 px long side; seed 004's 224x224), "
       "on this machine (2-core AMD EPYC CPU, torch 2.13.0 CPU build, presets run in fp32). Times are wall-clock "
       "for the whole command, measured while the test suite ran beside it on the same two cores (roughly twice "
       "the time of a quiet machine); for the longer runs, which shared the machine for longer, the CPU time "
       "divided by the two cores stands in for the time alone. Intermediates (`--save-every`) went to "
       "`--intermediates`.", ""]
out += ["| preset | document | steps | time |", "|---|---|---|---|"]
for p in PRESETS.values():
    steps = p.values["steps"]
    steps = "+".join(map(str, steps)) if isinstance(steps, tuple) else str(steps)
    if p.values.get("evals_per_step", 1) > 1:
        steps += f" x {p.values['evals_per_step']} evaluations"
    t = shown(p.name) if p.name in times else "not measured (see below)"
    out.append(f"| `{p.name}` | {p.source} | {steps} | {t} |")
out.append("")
for p in PRESETS.values():
    out += [f"## `{p.name}`", "", f"From: {p.source}.", "", f"{p.summary}.", "", "```",
            f"stylekit transfer tubingen.jpg starry_night.jpg -o {p.name}.png --preset {p.name} --seed 0", "```", ""]
    png = runs / f"{p.name}.png"
    if png.is_file() and p.name in times:
        jpg = docs / "images" / "recipes" / f"{p.name}.jpg"
        jpg.parent.mkdir(parents=True, exist_ok=True)
        Image.open(png).convert("RGB").save(jpg, quality=85)
        out += [f"![{p.name}](images/recipes/{p.name}.jpg)", "", f"{shown(p.name)}.", ""]
        if p.name in OBSERVED:
            out += [OBSERVED[p.name], ""]
    else:
        out += ["Not run to the end at 512 px in this session.", ""]
    out += ["Deviations from the printed recipe, and why:", ""] + [f"- {d}" for d in p.deviations] + [""]
out += ["## neural-style's own command line", "",
        "`stylekit neural-style` takes neural_style.lua's flags and runs the `neural-style` preset with them:", "",
        "```", "stylekit neural-style -content_image tubingen.jpg -style_image starry_night.jpg "
        "-output_image out.png -gpu -1 -seed 0", "```", "",
        "It prints neural-style's `Iteration N / M` loss lines every `-print_iter` iterations and writes "
        "`out_N.png` every `-save_iter`; `-gpu 0` without a CUDA GPU runs on the CPU with a note, and "
        "`-proto_file -model_file -backend -cudnn_autotune -multigpu_strategy` are noted and ignored.", ""]

(docs / "recipes.md").write_text("\n".join(out))
print("\n".join(out[:20]))
