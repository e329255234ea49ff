"""How close the web page's first estimates are for its three choices (Quick, Good, Best) on the shared images at
256, 512 and 1024 px: a fresh server (nothing learnt yet) is asked, as the page asks, how long each job would
take; then each job runs on that server, one at a time, and its own running time is set against the estimate.

    python benchmarks/page_estimates.py [--sizes 256,512,1024] [--pairs tubingen_starry_night ...]
"""
from __future__ import annotations

import argparse

from common import IMAGES, call, finished, post

from stylekit.options import ServerConfig
from stylekit.web import BackgroundServer

PAIRS = (("tubingen", "starry_night"), ("golden_gate", "the_scream"), ("shipwreck", "starry_night"))
CHOICES = {"Quick": ("fast", {}), "Good": ("transfer", {"quality": "draft"}), "Best": ("transfer", {"quality": "high"})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--pairs", nargs="+", help="CONTENT_STYLE names (default: all three)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pairs = [p for p in PAIRS if not args.pairs or f"{p[0]}_{p[1]}" in args.pairs]
    with BackgroundServer(ServerConfig(port=0, max_side=2048, max_upload_mb=40, max_pixels=40_000_000)) as server:
        url = server.url
        session = post(url, "/api/session", {})["session"]
        ids = {}
        for name in {n for pair in pairs for n in pair}:
            ids[name] = call(url, f"/api/images?session={session}&name={name}.jpg",
                             (IMAGES / f"{name}.jpg").read_bytes(), "POST")["id"]
        jobs = []
        for content, style in pairs:
            for size in sizes:
                for choice, (method, form) in CHOICES.items():
                    key = "content_size" if method == "fast" else "size"
                    body = {"session": session, "method": method, "content": ids[content], "styles": [ids[style]],
                            "options": {**form, key: str(size)}}
                    guess = post(url, "/api/estimate", {**body, "estimate": True})
                    jobs.append((f"{content} x {style}", size, choice, body, guess))
        print(f"speed probe: this machine is {server.state.estimator.speed:.2f}x the reference's time")
        print(f"{'pair':>26} {'size':>5} {'choice':>6} {'estimate':>9} {'page says':>16} {'took':>7} {'took/est':>8}")
        ratios: dict[str, list[float]] = {}
        for pair, size, choice, body, guess in jobs:
            job = finished(url, post(url, "/api/jobs", body), session)
            took = job["elapsed"]
            ratio = took / guess["seconds"]
            ratios.setdefault(choice, []).append(ratio)
            print(f"{pair:>26} {size:5d} {choice:>6} {guess['seconds']:8.1f}s {guess['text']:>16} {took:6.1f}s "
                  f"{ratio:8.2f}  {job['state']}")
        for choice, seen in ratios.items():
            print(f"{choice}: took/estimate from {min(seen):.2f} to {max(seen):.2f}")


if __name__ == "__main__":
    main()
