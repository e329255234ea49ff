"""Seed 003's objective (--preset keras-lbfgs: the Keras formulas and the published weights) term by term on
VGG19, for the noise start, the content photo itself and the style image: which term decides what the optimum
looks like (docs/recipes.md, keras-lbfgs).

    python benchmarks/keras_terms.py [SIZE]        # default 512
"""
from __future__ import annotations

import argparse

import torch

from common import IMAGES
from stylekit.backbones import get_backbone
from stylekit.io import fit_long_side, load_image, resize
from stylekit.methods.common import noise_image
from stylekit.methods.gatys import transfer_objective
from stylekit.options import TransferOptions, make_options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", nargs="?", type=int, default=512)
    args = parser.parse_args()
    options = make_options(TransferOptions, {"preset": "keras-lbfgs", "size": args.size})
    net = get_backbone("vgg19")
    photo = load_image(IMAGES / "tubingen.jpg").rgb
    hw = fit_long_side(*photo.shape[-2:], args.size)
    content, style = resize(photo, hw), resize(load_image(IMAGES / "starry_night.jpg").rgb, hw)
    objective = transfer_objective(content, [style], options, net)
    layers = sorted(objective.layers)
    noise = noise_image("centered", content, torch.Generator().manual_seed(0))
    print(f"{args.size} px, VGG19, the keras-lbfgs objective; each term as the seed computes it")
    for name, image in (("the noise start", noise), ("the content photo", content), ("the style image", style)):
        with torch.no_grad():
            terms = objective.terms(image, net(image, layers))
        content_term = sum(float(v) for k, v in terms.items() if k.startswith("content"))
        style_term = sum(float(v) for k, v in terms.items() if k.startswith("style"))
        per_layer = ", ".join(f"{k.split(':')[1]} {float(v):.2e}" for k, v in terms.items() if k.startswith("style"))
        print(f"{name:>18}: content {content_term:.2e}  style {style_term:.2e} ({per_layer})  "
              f"tv {float(terms.get('tv', 0)):.2e}")


if __name__ == "__main__":
    main()
