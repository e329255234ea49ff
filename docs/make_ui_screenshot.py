"""Make docs/images/web_ui.jpg: the web UI with a finished Quick result and a Good one optimising.

    STYLEKIT_WEIGHTS_DIR=../shared/weights python docs/make_ui_screenshot.py [--images ../shared/images]

Needs Debian's chromium (/usr/bin/chromium) and playwright (pip install -e '.[test]').
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

from stylekit.options import ServerConfig
from stylekit.web import BackgroundServer

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", default=str(Path(__file__).resolve().parents[2] / "shared" / "images"))
    parser.add_argument("-o", "--output", default=str(Path(__file__).resolve().parent / "images" / "web_ui.jpg"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    images = Path(args.images)
    with BackgroundServer(ServerConfig(port=0, preview_every=2)) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']")
        page.set_input_files("#content-input", str(images / "tubingen.jpg"))  # an upload of one's own
        page.wait_for_selector("#content-name:has-text('tubingen')")
        page.get_by_role("button", name="use the painting The Starry Night").click()  # a painting of the gallery
        page.click("#go")  # Quick
        page.wait_for_selector(".job.done")
        page.get_by_text("Good", exact=True).click()
        page.eval_on_selector("#size-slider", "el => { el.value = 384; el.dispatchEvent(new Event('input')); }")
        page.click("#go")
        page.wait_for_function("(document.querySelector('.job.running progress') || {}).value >= 10",
                               timeout=300_000)
        shot = page.screenshot()
        browser.close()
    Image.open(io.BytesIO(shot)).convert("RGB").save(args.output, quality=85)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
