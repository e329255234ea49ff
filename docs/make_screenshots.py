"""The web page's screenshots in docs/images: the first screen, an error and a comparison grid, on a desktop
(1280x800) and a phone (390x844), from a fresh server with an empty store, in Debian's Chromium.

    python docs/make_screenshots.py [--out docs/images]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from stylekit.web import BackgroundServer, ServerConfig

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, BackgroundServer(ServerConfig(port=0)) as server, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        notes = Path(tmp) / ("holiday photos from the lake, summer " + "2026 " * 6 + ".jpg")
        notes.write_text("not a picture")
        for name, viewport in VIEWPORTS.items():
            page = browser.new_page(viewport=viewport)
            page.goto(server.url)
            page.wait_for_selector("body[data-ready='1']")
            page.wait_for_function("[...document.querySelectorAll('#builtin img')].every(i => i.complete)")
            page.wait_for_timeout(1500)  # the three estimates
            page.screenshot(path=args.out / f"web_first_{name}.png")
            page.set_input_files("#content-input", str(notes))
            page.wait_for_selector("#content-error:has-text('not an image')")
            page.screenshot(path=args.out / f"web_error_{name}.png")
            page.get_by_role("button", name="use the photo Grace Hopper").click()
            page.get_by_role("button", name="Compare styles").click()
            count = page.locator("#paintings button").count()
            page.wait_for_function(f"document.querySelectorAll('#jobs .job.done').length === {count}",
                                   timeout=120_000)
            page.wait_for_function("[...document.querySelectorAll('#jobs img.view')].every(i => i.naturalWidth)")
            page.evaluate("document.querySelector('#results').scrollIntoView()")
            page.screenshot(path=args.out / f"web_compare_{name}.png")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
