"""How honest the web page's time estimates are: each method's jobs run here as the server runs them, and the
time each took is printed beside the estimate the server would have shown (from the reference rates scaled by
this machine's probe) and the rate this run measured (seconds per megapixel-step, the numbers behind
stylekit.options.registry's rates).

    python benchmarks/estimates.py [--sizes 256,512]
"""
from __future__ import annotations

import argparse
import time

from stylekit.io.examples import example_content, example_style
from stylekit.options import parse_form
from stylekit.options.registry import METHODS
from stylekit.web.estimate import Estimator, probe, work
from stylekit.web.jobs import Job, JobContext, JobQueue
from stylekit.web.tasks import methods_by_name, server_settings

CASES = [("fast", {}), ("transfer", {"quality": "draft"}), ("transfer", {"quality": "high"}),
         ("texture", {"quality": "draft"}), ("dream", {}), ("invert", {"steps": "50"}), ("features", {}),
         ("deconv", {}), ("top-images", {}), ("visualize", {"steps": "64"})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    args = parser.parse_args()
    from PIL import Image

    content = Image.open(example_content()).convert("RGB")
    style = example_style()
    methods = methods_by_name()
    estimator = Estimator.for_this_machine()
    print(f"probe {probe() * 1000:.1f} ms; this machine is {estimator.speed:.2f}x the reference's time")
    queue = JobQueue({"optimise": 0, "quick": 0})
    print(f"{'method':10} {'settings':16} {'size':>5} {'work':>8} {'estimate':>9} {'took':>7} {'ratio':>6} {'rate':>6}")
    for size in [int(s) for s in args.sizes.split(",")]:
        for name, form in CASES:
            method = methods[name]
            key = "content_size" if name == "fast" else "size"
            values = {**form, key: str(size)}
            options = parse_form(method.options, values, server_settings(method.options, None, "cpu"))
            images = [("photo", content), ("painting", style)] if method.pool else [style]
            amount = work(name, options, (content.height, content.width), len(images))
            guess = estimator.seconds(name, amount)
            job = Job("bench", name, method.lane, lambda ctx: None)
            start = time.perf_counter()
            method.run(content, images, options, JobContext(queue, job), 10_000)
            took = time.perf_counter() - start
            rate = max(took - METHODS[name].fixed, 0) / amount if amount else float("nan")
            print(f"{name:10} {','.join(f'{k}={v}' for k, v in form.items()) or '-':16} {size:5d} {amount:8.2f} "
                  f"{guess:8.1f}s {took:6.1f}s {took / guess:6.2f} {rate:6.3f}")
    queue.shutdown()


if __name__ == "__main__":
    main()
