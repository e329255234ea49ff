"""Load on the web server: N concurrent fast stylisations over loopback, against one request alone.

    python benchmarks/serve_load.py [--requests 20] [--size 256]

Prints the latency of one request on an idle server (the baseline), the wall time and latency
percentiles of N concurrent requests, throughput as a ratio to the baseline, and how long the server
takes to answer /api/config while loaded compared with idle.
"""
from __future__ import annotations

import argparse
import io
import statistics
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from common import call, finished, post

from stylekit.options import ServerConfig
from stylekit.web import BackgroundServer


def one_request(url: str, image: bytes) -> float:
    """Session, upload, fast job, wait, download: seconds end to end."""
    start = time.perf_counter()
    session = call(url, "/api/session", method="POST")["session"]
    content = call(url, f"/api/images?session={session}&name=c.png", image, "POST")["id"]
    job = finished(url, post(url, "/api/jobs", {"session": session, "method": "fast", "content": content,
                                                "styles": ["ex-swirls"], "options": {}}), session)
    if job["state"] != "done":
        raise SystemExit(f"job ended {job['state']}: {job['error']}")
    with urllib.request.urlopen(f"{url}/api/jobs/{job['id']}/result.png?session={session}") as response:
        response.read()
    return time.perf_counter() - start


def config_latency(url: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(url, "/api/config")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--size", type=int, default=256, help="content side in pixels")
    parser.add_argument("--quick-workers", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)).save(buf, "PNG")
    image = buf.getvalue()
    with BackgroundServer(ServerConfig(port=0, quick_workers=args.quick_workers)) as server:
        one_request(server.url, image)  # warm-up: first model load, first allocations
        idle = statistics.median(one_request(server.url, image) for _ in range(3))
        idle_config = config_latency(server.url)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.requests) as pool:
            futures = [pool.submit(one_request, server.url, image) for _ in range(args.requests)]
            time.sleep(0.5)
            loaded_config = config_latency(server.url)
            latencies = sorted(f.result() for f in futures)
        wall = time.perf_counter() - start
    p50, p95 = latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(f"{args.requests} concurrent fast requests, {args.size}x{args.size} content, "
          f"{args.quick_workers} quick worker(s)")
    print(f"baseline: one request alone {idle:.3f} s; /api/config idle {idle_config * 1000:.1f} ms")
    print(f"loaded:   wall {wall:.2f} s, latency p50 {p50:.2f} s, p95 {p95:.2f} s, max {latencies[-1]:.2f} s")
    print(f"throughput {args.requests / wall:.2f} req/s = {args.requests * idle / wall:.2f}x one-at-a-time; "
          f"/api/config under load {loaded_config * 1000:.1f} ms ({loaded_config / idle_config:.1f}x idle)")


if __name__ == "__main__":
    main()
