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
    config = ServerConfig(port=0, preview_every=2, max_side=1024)
    with BackgroundServer(config) as running:
        yield running


@pytest.fixture
def images(tmp_path, sample_images):
    """A 320x240 content photo and a style painting, as files a user would pick."""
    content = Image.open(sample_images / "portrait.jpg").convert("RGB").resize((320, 240))
    content.save(tmp_path / "portrait_small.jpg", quality=92)
    Image.open(sample_images / "starry_night.jpg").convert("RGB").resize((256, 203)).save(tmp_path / "starry.jpg")
    return tmp_path / "portrait_small.jpg", tmp_path / "starry.jpg"


DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


def new_page(browser, server, viewport=DESKTOP, context=None):
    page = context.new_page() if context else browser.new_page(viewport=viewport, accept_downloads=True)
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    return page


def open_page(browser, server, images):
    page = new_page(browser, server)
    page.set_input_files("#content-input", str(images[0]))
    page.set_input_files("#style-input", str(images[1]))
    page.wait_for_selector("#content-name:has-text('320×240')")
    page.wait_for_selector("#style-list li")
    return page


def advanced(page, method: str, **fields) -> None:
    """Pick a method under Advanced settings and fill its fields (text, or True/False for a checkbox)."""
    if not page.locator("#advanced").evaluate("d => d.open"):
        page.click("#advanced summary")
    page.select_option("#method", method)
    for name, value in fields.items():
        if isinstance(value, bool):
            page.set_checked(f"#opt-{name}", value)
        else:
            page.fill(f"#opt-{name}", value)


def short_transfer(page, steps: int) -> None:
    advanced(page, "transfer", size="128", steps=str(steps), min_size="", early_stopping=False)
    page.click("#go")


def card(page, index: int = 0):
    """The index-th job card, newest first."""
    return page.locator("#jobs .job").nth(index)


def in_viewport(page, selector: str) -> bool:
    """Whether the element is shown and lies wholly inside the window."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return box is not None and box["width"] > 0 and 0 <= box["x"] and box["x"] + box["width"] <= size["width"] \
        and 0 <= box["y"] and box["y"] + box["height"] <= size["height"]


# The controls a message might lie over: each one's visible middle (inside the scrolling page) must be itself.
COVERED = """() => {
  const view = document.querySelector('main').getBoundingClientRect(), hits = [];
  for (const el of document.querySelectorAll('main button, main input, main select, main a, main summary')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const top = Math.max(r.top, view.top), bottom = Math.min(r.bottom, view.bottom);
    if (bottom - top < 2) continue;  // scrolled out of the page's view
    const x = r.left + r.width / 2, y = (top + bottom) / 2, at = document.elementFromPoint(x, y);
    if (at && at.closest('#toasts')) hits.push(el.id || el.getAttribute('aria-label') || el.textContent);
  }
  return hits;
}"""


def messages_cover_nothing(page) -> None:
    """Messages are shown, in the window, and below the page's controls rather than over them."""
    assert page.locator("#toasts .toast").count() > 0 and in_viewport(page, "#toasts .toast")
    assert page.evaluate(COVERED) == []
    below = "document.querySelector('#toasts').getBoundingClientRect().top + 0.5 >= " \
            "document.querySelector('main').getBoundingClientRect().bottom"
    assert page.evaluate(below)


def page_width(page) -> int:
    """How wide the page's content is: the document's, or the scrolling page's own, whichever is wider."""
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.querySelector('main').scrollWidth)")


def set_size(page, pixels: int) -> None:
    page.eval_on_selector("#size-slider", "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }",
                          pixels)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_three_clicks_from_the_gallery_give_a_result_with_a_before_after_slider(browser, server, viewport):
    page = new_page(browser, server, viewport)
    page.get_by_role("button", name="use the photo Grace Hopper").click()
    page.get_by_role("button", name="use the painting The Starry Night").click()
    page.get_by_role("button", name="Go", exact=True).click()
    result = card(page)
    result.locator(".state:has-text('done')").wait_for(timeout=60_000)
    assert in_viewport(page, "#jobs .job .head")  # on a phone the page scrolled to the new card
    assert result.locator(".title").inner_text().startswith("Quick — The Starry Night — ")  # plain words
    assert result.locator("img[alt='photo: Grace Hopper']").count() == 1
    assert result.locator("img[alt='style: The Starry Night']").count() == 1
    split = result.locator("input.split")
    assert split.is_visible() and split.get_attribute("aria-label") == "before and after: move to compare"
    assert result.locator("img.before").is_visible()
    split.fill("80")
    assert "80%" in result.locator(".after").evaluate("el => el.style.clipPath")
    assert result.locator("progress").get_attribute("aria-label") == \
        "progress of Repaint a photo in a style, in one pass: Grace Hopper in the style of The Starry Night"
    result.get_by_role("button", name="View full size").click()
    page.wait_for_function("document.querySelector('#viewer-image').naturalWidth > 0", timeout=30_000)
    shown = "(() => { const i = document.querySelector('#viewer-image'); return [i.width, i.naturalWidth]; })()"
    fitted = page.evaluate(shown)
    page.get_by_role("button", name="show at 100%, pixel for pixel").click()
    assert page.evaluate(shown)[0] == fitted[1] != fitted[0]  # pixel for pixel, not the fitted size
    page.click("#viewer-close")
    page.close()


def test_good_quality_runs_a_draft_optimisation_with_an_estimate(browser, server):
    page = new_page(browser, server)
    page.get_by_role("button", name="use the photo Grace Hopper").click()
    page.get_by_role("button", name="use the painting The Scream").click()
    set_size(page, 160)
    page.get_by_text("Good", exact=True).click()
    page.wait_for_function("document.querySelector('.q-time[data-quality=good]').textContent.startsWith('about') "
                           "|| document.querySelector('.q-time[data-quality=good]').textContent.startsWith('under')")
    assert page.input_value("#method") == "transfer" and page.input_value("#opt-quality") == "draft"
    assert "on this machine" in page.text_content("#estimate")
    page.click("#go")
    result = card(page)
    result.locator(".state:has-text('done')").wait_for(timeout=120_000)
    assert result.locator(".title").inner_text().startswith("Good — The Scream — ")
    assert "quality" not in result.locator(".settings").inner_text()  # the title says it
    assert "×160" in result.locator(".info").inner_text()  # 137x160: the portrait at the chosen size
    assert "kept until" in result.locator(".info").inner_text()  # its history: made when, kept until when
    assert "kept on this server for 7 days" in page.text_content("#results-note")
    assert result.locator("input.split").is_visible()
    page.close()


def test_fast_then_optimise_with_progress_cancel_and_download(browser, server, images, weights_dir, tmp_path):
    page = open_page(browser, server, images)
    # Fast stylisation at the photo's own size: the result downloads at full resolution.
    advanced(page, "fast", content_size="")
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
    opt.locator(".state:has-text('optimising')").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelector('#jobs .job.running progress').value >= 6", timeout=60_000)
    assert "step" in opt.locator(".info").inner_text()
    assert opt.locator("img.view").get_attribute("src").count("preview.jpg") == 1

    # A second optimisation waits in line; a fast job meanwhile is not stuck behind them.
    page.click("#go")
    card(page).locator(".state:has-text('#1 in line')").wait_for(timeout=10_000)
    page.select_option("#method", "fast")
    page.click("#go")
    card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)
    assert "optimising" in card(page, 2).locator(".state").inner_text()

    # Cancel the queued one (no full bar), then the running one: it keeps its best image, which downloads.
    card(page, 1).locator("button.cancel").click()
    card(page, 1).locator(".state:has-text('cancelled')").wait_for(timeout=10_000)
    assert not card(page, 1).locator("progress").is_visible()
    card(page, 2).locator("button.cancel").click()
    card(page, 2).locator(".state:has-text('best so far kept')").wait_for(timeout=30_000)
    with page.expect_download() as download_info:
        card(page, 2).locator("a.download").click()
    path = tmp_path / "best.png"
    download_info.value.save_as(path)
    assert Image.open(path).size == (128, 96)
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_errors_show_inside_the_viewport_next_to_their_cause(browser, server, tmp_path, viewport):
    page = new_page(browser, server, viewport)
    page.evaluate("document.querySelector('main').scrollTo(0, 1e9)")  # wherever the user is on the page
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a picture")
    page.set_input_files("#content-input", str(notes))
    page.wait_for_selector("#content-error:has-text('not an image')")
    toast = page.locator(".toast[role=alert]:has-text('not an image')")
    toast.wait_for()
    assert in_viewport(page, ".toast[role=alert]")
    assert "invalid literal" not in toast.inner_text() and "--" not in toast.inner_text()
    messages_cover_nothing(page)
    toast.get_by_role("button", name="dismiss message").click()
    page.get_by_role("button", name="Go", exact=True).click()  # nothing chosen: the page says what is missing
    page.wait_for_selector("#content-error:has-text('needs a photo')")
    assert in_viewport(page, ".toast[role=alert]:has-text('needs a photo')")
    for _ in range(3):  # several at once, wherever the page is scrolled
        page.get_by_role("button", name="Compare styles").click()
    page.evaluate("document.querySelector('main').scrollTo(0, 0)")
    messages_cover_nothing(page)
    page.close()


def test_a_bad_setting_is_marked_at_its_field_in_plain_words(browser, server):
    page = new_page(browser, server)
    advanced(page, "transfer", style_weight="lots")
    page.wait_for_selector("#err-style_weight:has-text('style weight must be a number')")
    assert page.get_attribute("#opt-style_weight", "aria-invalid") == "true"
    page.fill("#opt-size", "300")
    page.select_option("#opt-preserve_color", "luminance")
    page.select_option("#method", "fast")  # shared settings carry over to the other method
    assert page.input_value("#opt-content_size") == "300" and page.input_value("#opt-preserve_color") == "luminance"
    assert page.text_content("#size-value") == "300 px"
    page.select_option("#method", "dream")
    assert page.locator("#opt-layer").evaluate("el => el.tagName") == "SELECT"  # layers are choices
    assert "relu4_2" in page.locator("#opt-layer option").all_inner_texts()
    assert page.locator("#style-box").evaluate("el => el.inert")  # dreams take no style: really inactive
    page.select_option("#method", "invert")
    page.fill("#opt-steps", "500")  # one number of steps here ...
    page.get_by_text("Good", exact=True).click()  # ... is not transfer's steps per scale
    assert page.input_value("#method") == "transfer" and page.input_value("#opt-steps") == ""
    assert page.input_value("#opt-quality") == "draft"
    page.close()


def test_tab_reaches_the_file_pickers_and_dropped_or_pasted_files_become_the_photo(browser, server, images):
    page = new_page(browser, server)
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
    assert {"content-pick", "style-pick"} <= reached
    data = images[0].read_bytes()
    for event in ("drop", "paste"):
        page.evaluate("""([bytes, event]) => {
            const file = new File([new Uint8Array(bytes)], event + ".jpg", { type: "image/jpeg" });
            const data = new DataTransfer(); data.items.add(file);
            const target = document.querySelector("#results");
            target.dispatchEvent(event === "drop"
                ? new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true })
                : new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
        }""", [list(data), event])
        page.wait_for_selector(f"#content-name:has-text('{event}.jpg')")
    assert page.url.rstrip("/") == server.url  # the drop did not navigate away
    page.close()


def test_double_clicking_go_queues_one_job(browser, server):
    page = new_page(browser, server)
    page.get_by_role("button", name="use the photo Grace Hopper").click()
    page.get_by_role("button", name="use the painting Swirls").click()
    page.locator("#go").dblclick()
    card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    assert page.locator("#jobs .job").count() == 1
    session = page.evaluate("JSON.parse(localStorage.getItem('stylekit.page')).session")
    assert len(server.state.queue.session_jobs(session)) == 1
    page.close()


def test_a_reload_during_a_running_job_keeps_it_and_its_result(browser, server, images):
    context = browser.new_context(viewport=DESKTOP)
    page = new_page(browser, server, context=context)
    page.set_input_files("#content-input", str(images[0]))
    page.set_input_files("#style-input", str(images[1]))
    page.wait_for_selector("#style-list li")
    short_transfer(page, 60)
    card(page).locator(".state:has-text('optimising')").wait_for(timeout=60_000)
    job_id = card(page).get_attribute("data-id")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    again = page.locator(f"#jobs .job[data-id='{job_id}']")
    again.wait_for(timeout=10_000)
    assert page.locator("#content-name").inner_text().startswith("portrait_small.jpg")  # the photo is still chosen
    again.locator(".state:has-text('done')").wait_for(timeout=120_000)
    assert again.locator("a.download").is_visible()
    page.close()  # a closed tab too: a new one finds the result
    page = new_page(browser, server, context=context)
    page.locator(f"#jobs .job[data-id='{job_id}'] .state:has-text('done')").wait_for(timeout=10_000)
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_builtin_styles_are_a_named_sheet_found_by_colour_and_need_no_painting(browser, server, images, viewport):
    page = new_page(browser, server, viewport)
    page.set_input_files("#content-input", str(images[0]))
    page.wait_for_selector("#content-name:has-text('320×240')")
    page.wait_for_function("[...document.querySelectorAll('#builtin img')].every(i => i.complete && i.naturalWidth)",
                           timeout=5_000)  # shipped pictures: all there at once, no model run
    names = page.locator("#builtin button span").all_inner_texts()
    assert len(names) == 26 and "primary colour blocks" in names and not any(n.isdigit() for n in names)
    page.fill("#builtin-search", "red")
    shown = page.locator("#builtin li:visible span").all_inner_texts()
    assert 0 < len(shown) < 26 and "red and orange bricks" in shown and "icy blue wash" not in shown
    page.fill("#builtin-search", "warm flames")
    assert page.locator("#builtin li:visible span").all_inner_texts() == ["red and black flames"]
    page.fill("#builtin-search", "zebra")
    assert page.locator("#builtin li:visible").count() == 0 and page.locator("#builtin-none").is_visible()
    page.fill("#builtin-search", "")
    page.click("#builtin button[aria-label='use the built-in style primary colour blocks']")
    assert page.input_value("#method") == "fast" and page.input_value("#opt-builtin") == "7"
    assert page.get_attribute("#builtin button[data-index='7']", "aria-pressed") == "true"
    assert "primary colour blocks" in page.inner_text("#style-hint")
    assert page_width(page) <= viewport["width"]
    page.click("#go")
    card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)
    assert card(page).locator(".title").inner_text().startswith("Quick — Primary colour blocks — ")
    assert "×" in card(page).locator(".info").inner_text()
    page.close()


def test_a_dropped_connection_reconnects_by_itself(browser, server):
    page = new_page(browser, server)
    first = page.evaluate_handle("state.socket")
    page.evaluate("state.socket.close()")  # as if the network dropped it
    page.wait_for_function("s => state.socket !== s && state.socket.readyState === 1", arg=first, timeout=30_000)
    page.get_by_role("button", name="use the photo Grace Hopper").click()
    page.get_by_role("button", name="use the painting Swirls").click()
    page.click("#go")
    card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)  # heard over the new socket
    assert page.text_content("#connection") == ""
    page.close()


def test_leaving_a_page_with_a_running_job_does_not_ask_since_nothing_is_lost(browser, server, images):
    page = open_page(browser, server, images)
    short_transfer(page, 3000)
    card(page).locator(".state:has-text('optimising')").wait_for(timeout=60_000)
    leaving = "window.dispatchEvent(new Event('beforeunload', { cancelable: true })) === false"  # prevented: asks
    assert not page.evaluate(leaving)  # the server keeps the job and its result: a reload shows them again
    card(page).locator("button.cancel").click()
    card(page).locator(".state:has-text('best so far kept')").wait_for(timeout=30_000)
    page.close()


def test_picking_a_second_painting_replaces_the_first_unless_mixing_is_asked(browser, server):
    page = new_page(browser, server)
    page.get_by_role("button", name="use the painting The Starry Night").click()
    page.get_by_role("button", name="use the painting The Scream").click()
    assert page.locator("#style-hint").inner_text() == "The Scream"  # a change of mind, not a muddy mix
    page.get_by_role("button", name="Mix with another painting…").click()
    page.get_by_role("button", name="use the painting The Starry Night").click()
    assert page.locator("#style-hint").inner_text() == "The Scream + The Starry Night"
    page.close()


def test_a_page_back_after_its_session_expired_says_so_and_starts_afresh(browser, server, images):
    context = browser.new_context(viewport=DESKTOP)
    page = new_page(browser, server, context=context)
    page.set_input_files("#content-input", str(images[0]))
    page.wait_for_selector("#content-name:has-text('320×240')")
    token = page.evaluate("state.session")
    page.close()
    state = server.state
    deadline = time.time() + 30
    while state.sessions[token].pages and time.time() < deadline:  # the server hears the page go
        time.sleep(0.02)
    state.sessions[token].last_seen -= state.keep + 1
    state.expire()
    page = new_page(browser, server, context=context)
    page.locator(".toast:has-text('have expired')").wait_for(timeout=10_000)
    assert page.evaluate("state.session") != token and page.locator("#content-preview").is_hidden()
    page.get_by_role("button", name="use the photo Grace Hopper").click()  # and the page works as new
    page.get_by_role("button", name="use the painting Swirls").click()
    page.click("#go")
    card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)
    context.close()


def test_the_network_views_run_from_the_page(browser, server):
    page = new_page(browser, server)

    def go_and_wait(count: int, title: str) -> None:
        page.click("#go")
        page.wait_for_function(f"document.querySelectorAll('#jobs .job').length === {count}")
        card(page).locator(".state:has-text('done')").wait_for(timeout=120_000)
        assert card(page).locator(".title").inner_text().startswith(title)

    page.get_by_role("button", name="use the photo Grace Hopper").click()
    advanced(page, "deconv", size="128", channels="0-3")
    page.select_option("#opt-layer", "relu3_1")
    go_and_wait(1, "What the network picks out in a photo")
    advanced(page, "visualize", size="64", steps="16", channel="5", channels="")  # deconv's channels carry over
    assert page.locator("#content-box").evaluate("el => el.inert")  # no picture needed
    go_and_wait(2, "The picture a detector likes best")
    advanced(page, "top-images", size="64", channels="0-1", k="2")
    assert not page.locator("#content-box").evaluate("el => el.inert")  # uploads join the pictures searched
    go_and_wait(3, "What each detector likes best in my pictures")
    page.close()


def test_a_trained_model_from_the_gallery_needs_no_painting(browser, images, tmp_path):
    from stylekit.options import TrainOptions
    from stylekit.training import run_training

    models = tmp_path / "models"
    options = TrainOptions(backbone="scratch", size=32, style_size=64, batch_size=1, steps=1, seed=1)
    run_training([images[1]], options, str(models / "starry.pt"))
    with BackgroundServer(ServerConfig(port=0, models_dir=str(models))) as own:
        page = new_page(browser, own)
        page.set_input_files("#content-input", str(images[0]))
        page.wait_for_selector("#content-name:has-text('320×240')")
        assert page.is_visible("#trained-box")
        button = "#trained button[aria-label='use your model starry (starry)']"
        page.wait_for_function(f"document.querySelector(\"{button}\").querySelector('img').naturalWidth > 0",
                               timeout=60_000)
        page.click(button)
        assert page.input_value("#method") == "fast" and page.input_value("#opt-model") == "starry"
        assert page.get_attribute(button, "aria-pressed") == "true"
        assert "Your model starry" in page.text_content("#style-hint")
        page.click("#go")
        card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)
        page.get_by_role("button", name="use the painting Swirls").click()  # a painting replaces the model
        assert page.get_attribute(button, "aria-pressed") == "false"
        assert page.input_value("#opt-model") != "starry"
        page.close()


def test_a_mix_slider_between_two_paintings_redraws_the_quick_result(browser, server):
    page = new_page(browser, server)
    page.get_by_role("button", name="use the photo Grace Hopper").click()
    page.get_by_role("button", name="use the painting The Starry Night").click()
    assert page.locator("#mix").is_hidden()  # one painting with the default model: nothing to mix
    page.get_by_role("button", name="Mix with another painting…").click()
    page.get_by_role("button", name="use the painting The Scream").click()
    assert page.locator("#mix").is_visible()
    assert page.locator("#mix-left").inner_text() == "The Starry Night"
    page.eval_on_selector("#mix-slider", "el => { el.value = 80; el.dispatchEvent(new Event('input')); }")
    page.wait_for_function("document.querySelector('#mix-preview').naturalWidth > 0", timeout=60_000)
    assert page.evaluate("JSON.parse(localStorage.getItem('stylekit-page') || '{}').values?.style_blend_weights?.v") \
        in ("0.20,0.80", None)
    assert page.locator("#jobs .job").count() == 0  # redrawing is not a job of the list
    page.close()


def test_remove_can_be_undone_and_remove_all_asks_while_a_picture_is_being_made(browser, server, images):
    page = open_page(browser, server, images)
    page.click("#go")
    card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)
    session = page.evaluate("state.session")
    card(page).locator("button.remove-job").click()
    assert card(page).is_hidden()
    page.get_by_role("button", name="Undo").click()
    assert card(page).is_visible() and len(server.state.queue.session_jobs(session)) == 1
    short_transfer(page, 3000)  # a second card, still running
    card(page).locator(".state:has-text('optimising')").wait_for(timeout=60_000)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#clear")
    assert asked and "still being made" in asked[0]
    assert page.locator("#jobs .job:visible").count() == 2  # answered no: nothing removed
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#clear")
    assert page.locator("#jobs .job:visible").count() == 0
    deadline = time.time() + 20
    while server.state.queue.session_jobs(session) and time.time() < deadline:
        time.sleep(0.3)
    assert server.state.queue.session_jobs(session) == []  # forgotten once the Undo time passed
    page.close()


@pytest.mark.parametrize("width", [320, 390])
def test_a_long_error_never_widens_a_narrow_screen(browser, server, tmp_path, width):
    page = new_page(browser, server, {"width": width, "height": 700})
    notes = tmp_path / ("holiday_" + "x" * 150 + ".jpg")
    notes.write_text("not a picture")
    page.set_input_files("#content-input", str(notes))
    page.wait_for_selector("#content-error:has-text('not an image')")
    page.locator(".toast[role=alert]").first.wait_for()
    assert page_width(page) <= width
    page.get_by_role("button", name="Go", exact=True).click()  # a second kind of error
    page.wait_for_selector("#content-error:has-text('needs a photo')")
    assert page_width(page) <= width
    messages_cover_nothing(page)
    page.get_by_role("button", name="use the photo Grace Hopper").click()  # the problem fixed: its message goes
    assert page.locator(".toast.error").count() == 0
    page.close()


def test_compare_styles_paints_the_photo_in_every_painting(browser, server):
    page = new_page(browser, server)
    page.get_by_role("button", name="use the photo Grace Hopper").click()
    paintings = page.locator("#paintings button").count()
    page.get_by_role("button", name="Compare styles").click()
    page.wait_for_function(f"document.querySelectorAll('#jobs .job').length === {paintings}", timeout=30_000)
    for i in range(paintings):
        card(page, i).locator(".state:has-text('done')").wait_for(timeout=120_000)
    titles = {card(page, i).locator(".title").inner_text().split(" — ")[1] for i in range(paintings)}
    assert len(titles) == paintings  # one card per painting, each downloadable
    assert all(card(page, i).locator("a.download, a[download]").count() == 1 for i in range(paintings))
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_finished_result_is_on_the_page_after_a_server_restart(browser, tmp_path, viewport):
    """The page's history: the same browser comes back to a restarted server (same address, same store) and
    finds its result's card, with its picture and download."""
    from urllib.parse import urlsplit

    first = BackgroundServer(ServerConfig(port=0, data_dir=str(tmp_path / "store")))
    port = urlsplit(first.url).port
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    with first:
        page = new_page(browser, first, context=context)
        page.get_by_role("button", name="use the photo Grace Hopper").click()
        page.get_by_role("button", name="use the painting The Scream").click()
        page.get_by_role("button", name="Go", exact=True).click()
        card(page).locator(".state:has-text('done')").wait_for(timeout=60_000)
        title = card(page).locator(".title").inner_text()
        page.close()
    with BackgroundServer(ServerConfig(port=port, data_dir=str(tmp_path / "store"))) as second:
        page = new_page(browser, second, context=context)
        again = card(page)
        again.locator(".state:has-text('done')").wait_for(timeout=30_000)
        assert page.locator("#jobs .job").count() == 1 and again.locator(".title").inner_text() == title
        page.wait_for_function("document.querySelector('#jobs .job img.view').naturalWidth > 0", timeout=30_000)
        with page.expect_download() as download_info:
            again.locator("a.download").click()
        path = tmp_path / "again.png"
        download_info.value.save_as(path)
        assert Image.open(path).size[0] > 0 and "kept until" in again.locator(".info").inner_text()
    context.close()


def test_a_quick_picture_that_fails_offers_good_instead(browser, server, monkeypatch):
    from stylekit.feedforward import method as fast_method

    def broken(*args, **kwargs):
        raise RuntimeError("the model could not run")

    monkeypatch.setattr(fast_method, "job", broken)
    page = new_page(browser, server, PHONE)
    page.get_by_role("button", name="use the photo Grace Hopper").click()
    page.get_by_role("button", name="use the painting The Scream").click()
    set_size(page, 128)
    page.get_by_role("button", name="Go", exact=True).click()
    failed = card(page)
    failed.locator(".state:has-text('failed')").wait_for(timeout=60_000)
    assert "something went wrong" in failed.locator(".error").inner_text()
    failed.get_by_role("button", name="Try Good instead").click()
    page.wait_for_function("document.querySelectorAll('#jobs .job').length === 2")
    good = card(page)
    good.locator(".state:has-text('done')").wait_for(timeout=120_000)
    assert good.locator(".title").inner_text() == "Good — The Scream — 128 px"
    assert good.locator("a.download").is_visible()
    page.close()
