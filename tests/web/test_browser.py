"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; no browser download).

Skipped when Chromium or Playwright is missing, unless STYLEKIT_REQUIRE_BROWSER=1 (CI sets it), which turns
a missing browser into a failure.
"""
from __future__ import annotations

import os
import shutil
import time

import pytest
from PIL import Image

from stylekit.web import BackgroundServer, ServerConfig

from ..conftest import WEIGHTS

CHROMIUM = os.environ.get("STYLEKIT_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network: no background connections, no first-run work.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_missing() -> str | None:
    if not shutil.which(CHROMIUM):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _browser_missing()
    if missing:
        if os.environ.get("STYLEKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server():
    config = ServerConfig(port=0, preview_every=2, max_side=1024, weights_dir=str(WEIGHTS))
    with BackgroundServer(config) as running:
        yield running


@pytest.fixture
def images(tmp_path, shared_images):
    """A 320x240 content photo and a style painting, as files a user would pick."""
    content = Image.open(shared_images / "tubingen.jpg").convert("RGB").resize((320, 240))
    content.save(tmp_path / "tubingen_small.jpg", quality=92)
    Image.open(shared_images / "starry_night.jpg").convert("RGB").resize((256, 203)).save(tmp_path / "starry.jpg")
    return tmp_path / "tubingen_small.jpg", tmp_path / "starry.jpg"


def open_page(browser, server, images):
    page = browser.new_page(viewport={"width": 1400, "height": 950}, accept_downloads=True)
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    page.set_input_files("#content-input", str(images[0]))
    page.set_input_files("#style-input", str(images[1]))
    page.wait_for_selector("#content-name:has-text('320×240')")
    page.wait_for_selector("#style-list li")
    return page


def short_transfer(page, steps: int) -> None:
    page.select_option("#method", "transfer")
    page.fill("#opt-size", "128")
    page.fill("#opt-steps", str(steps))
    page.fill("#opt-min_size", "")
    page.uncheck("#opt-early_stopping")
    page.click("#go")


def card(page, index: int = 0):
    """The index-th job card, newest first."""
    return page.locator("#jobs .job").nth(index)


def test_fast_then_optimise_with_progress_cancel_and_download(browser, server, images, weights_dir, tmp_path):
    page = open_page(browser, server, images)
    # Fast stylisation: the result appears and downloads at full resolution.
    page.select_option("#method", "fast")
    page.click("#go")
    fast = card(page)
    fast.locator(".state:has-text('done')").wait_for(timeout=60_000)
    with page.expect_download() as download_info:
        fast.locator("a.download").click()
    path = tmp_path / "fast.png"
    download_info.value.save_as(path)
    assert Image.open(path).size == (320, 240)

    # A short optimisation (real VGG19 at 128 px): progress and the current image show while it runs.
    short_transfer(page, 400)
    opt = card(page)
    opt.locator(".state:has-text('running')").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelector('#jobs .job.running progress').value >= 6", timeout=60_000)
    assert "step" in opt.locator(".info").inner_text()
    assert opt.locator("img.view").get_attribute("src").count("preview.jpg") == 1

    # A second optimisation waits in line; a fast job meanwhile is not stuck behind them.
    short_transfer(page, 400)
    card(page).locator(".state:has-text('#1 in line')").wait_for(timeout=10_000)
    page.select_option("#method", "fast")
    page.click("#go")
    card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)
    assert "running" in card(page, 2).locator(".state").inner_text()

    # Cancel the queued one, then the running one: it keeps its best image, which downloads.
    card(page, 1).locator("button.cancel").click()
    card(page, 1).locator(".state:has-text('cancelled')").wait_for(timeout=10_000)
    card(page, 2).locator("button.cancel").click()
    card(page, 2).locator(".state:has-text('best so far kept')").wait_for(timeout=30_000)
    with page.expect_download() as download_info:
        card(page, 2).locator("a.download").click()
    path = tmp_path / "best.png"
    download_info.value.save_as(path)
    assert Image.open(path).size == (128, 96)
    page.close()


def test_bad_upload_shows_a_message(browser, server, images, tmp_path):
    page = browser.new_page()
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a picture")
    page.set_input_files("#content-input", str(notes))
    page.wait_for_selector("#message:has-text('not an image this server can read')")
    page.click("#go")  # nothing chosen: the page says what is missing
    page.wait_for_selector("#message:has-text('needs a content image')")
    page.close()


def test_closing_the_tab_cancels_its_running_job(browser, server, images):
    page = open_page(browser, server, images)
    short_transfer(page, 2000)
    card(page).locator(".state:has-text('running')").wait_for(timeout=60_000)
    job_id = card(page).get_attribute("data-id")
    queue = server.state.queue
    job = queue.get(job_id)
    assert job is not None and job.state == "running"
    page.close()
    deadline = time.time() + 30
    while (job.state == "running" or queue.get(job_id) is not None) and time.time() < deadline:
        time.sleep(0.1)
    assert job.state == "cancelled" and queue.get(job_id) is None


def test_a_builtin_style_from_the_gallery_needs_no_style_image(browser, server, images):
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    page.set_input_files("#content-input", str(images[0]))
    page.wait_for_selector("#content-name:has-text('320×240')")
    page.click("#builtin-box summary")
    page.wait_for_function("document.querySelector('#builtin button img').naturalWidth > 0", timeout=60_000)
    page.click("#builtin button[aria-label='built-in style 7']")
    assert page.input_value("#method") == "fast" and page.input_value("#opt-builtin") == "7"
    assert page.get_attribute("#builtin button[aria-label='built-in style 7']", "aria-pressed") == "true"
    page.click("#go")
    card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)
    assert "320×240" in card(page).locator(".info").inner_text()
    page.close()
