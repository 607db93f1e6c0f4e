"""The built book works in a browser with no network: every page, every static experiment."""
from __future__ import annotations

import json
import pathlib

import pytest

from conftest import SITE, pages

SHOTS = pathlib.Path(__file__).resolve().parents[1] / "_build" / "screenshots"
WEIGHTS: dict[str, int] = {}


def open_page(browser, site_url, path):
    """Open ``path`` and collect failed/outside requests, console errors and page errors."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    problems: list[str] = []

    def route(r):
        if r.request.url.startswith(site_url) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            problems.append(f"request left the site: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(f"{site_url}/{path}", wait_until="networkidle")
    return ctx, page, problems


@pytest.mark.parametrize("path", pages())
def test_page_loads_offline_without_errors(browser, site_url, path):
    ctx, page, problems = open_page(browser, site_url, path)
    try:
        html = (SITE / path).read_text()
        if "math notranslate" in html:
            page.wait_for_selector("mjx-container", state="attached", timeout=15000)
            assert page.locator(".math mjx-container, mjx-container").count() > 0
            assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / (path.replace("/", "_") + ".png")), full_page=False)
        # page weight: the document plus everything it loaded (scripts, styles, fonts, images)
        loaded = page.evaluate("performance.getEntriesByType('resource')"
                               ".reduce((s, e) => s + (e.encodedBodySize || 0), 0)")
        weight = (SITE / path).stat().st_size + loaded
        WEIGHTS[path] = weight
        (SHOTS.parent / "page-weights.json").write_text(json.dumps(WEIGHTS, indent=1, sort_keys=True))
        assert weight < 8_000_000, f"{path} weighs {weight / 1e6:.1f} MB"
        assert problems == []
    finally:
        ctx.close()


def test_every_page_is_small():
    """A page's own HTML is at most 600 KB gzipped: experiment frames are files of their own
    (_ext/nnbook_frames.py), never inlined."""
    from page_weights import file_weight

    for path in pages():
        raw, gz = file_weight(SITE / path)
        assert gz <= 600_000, f"{path} is {gz / 1e3:.0f} KB gzipped ({raw / 1e6:.1f} MB)"
        assert "data:image/png;base64" not in (SITE / path).read_text() or \
            'class="nnbook-exp"' not in (SITE / path).read_text(), f"{path} inlines frames"


FIRST_LOAD: dict[str, dict] = {}


@pytest.mark.parametrize("path", pages())
def test_first_load_is_light_and_fetches_no_frame_early(browser, site_url, path):
    """A reader's first load of a page transfers at most 2 MB gzipped, and no experiment's frame
    is requested before the experiment comes near the screen; once it does, its frame loads."""
    from page_weights import first_load

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    try:
        m = first_load(page, SITE, site_url, path)
        FIRST_LOAD[path] = {k: m[k] for k in ("html", "html_gz", "total", "total_gz", "frames")}
        (SHOTS.parent).mkdir(parents=True, exist_ok=True)
        (SHOTS.parent / "first-load.json").write_text(json.dumps(FIRST_LOAD, indent=1, sort_keys=True))
        assert m["total_gz"] <= 2_000_000, f"{path}: first load {m['total_gz'] / 1e6:.2f} MB gzipped"
        exps = page.locator(".nnbook-exp")
        near = 900 + 200  # the viewport and the observer's margin (nnbook-experiments.js)
        for e in range(exps.count()):
            exp = exps.nth(e)
            img = exp.locator("img.nnbook-exp-frame")
            first = img.get_attribute("data-src")
            assert first and first.split("/")[-2] == "_frames", "frame not a file of its own"
            file = "_frames/" + first.split("/")[-1]
            top = exp.evaluate("e => e.getBoundingClientRect().top")
            if top > near:
                assert file not in m["frames"], f"{path}: experiment {e}'s frame loaded early"
                assert img.get_attribute("src") is None
        for e in range(exps.count()):  # reached: each shows its first frame
            exp = exps.nth(e)
            exp.scroll_into_view_if_needed()
            img = exp.locator("img.nnbook-exp-frame")
            img.evaluate("i => i.src ? (i.complete ? 0 : new Promise(r => { i.onload = i.onerror = r; })) : 0")
            page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle(),
                                   timeout=10000)
            assert img.get_attribute("src") == img.get_attribute("data-src")
    finally:
        ctx.close()


EXPERIMENT_PAGES = [p for p in pages() if 'class="nnbook-exp"' in (SITE / p).read_text()]


def test_there_are_experiments():
    assert len(EXPERIMENT_PAGES) >= 1


def _expected_frame(page, exp):
    """The frame the experiment should show, computed here from the control values."""
    data = json.loads(exp.locator("script.nnbook-exp-data").text_content())
    values = exp.locator(".nnbook-exp-controls input, .nnbook-exp-controls select")
    flat = 0
    for k in range(values.count()):
        el = values.nth(k)
        kind = el.evaluate("e => e.type")
        idx = int(el.is_checked()) if kind == "checkbox" else int(el.input_value())
        flat = flat * data["shape"][k] + idx
    frame = data["order"][flat]
    src = data["frames"][frame]  # a frame file's URL (the book) or base64 PNG (elsewhere)
    return frame, src if src.endswith(".png") else "data:image/png;base64," + src


@pytest.mark.parametrize("path", EXPERIMENT_PAGES)
def test_static_experiments_respond_to_every_control(browser, site_url, path):
    ctx, page, problems = open_page(browser, site_url, path)
    try:
        exps = page.locator(".nnbook-exp")
        assert exps.count() >= 1
        for e in range(exps.count()):
            exp = exps.nth(e)
            exp.scroll_into_view_if_needed()
            img = exp.locator("img.nnbook-exp-frame")
            assert img.get_attribute("alt")
            controls = exp.locator(".nnbook-exp-controls input, .nnbook-exp-controls select")
            for k in range(controls.count()):
                el = controls.nth(k)
                el_id = el.get_attribute("id")
                assert exp.locator(f'label[for="{el_id}"]').count() == 1, "control without label"
                kind = el.evaluate("e => e.type")
                if kind == "checkbox":
                    el.focus()
                    page.keyboard.press("Space")      # keyboard-operable
                elif kind == "range":
                    n = int(el.get_attribute("max")) + 1
                    el.focus()
                    key = "ArrowLeft" if int(el.input_value()) == n - 1 else "ArrowRight"
                    before = el.input_value()
                    page.keyboard.press(key)
                    assert el.input_value() != before, "slider did not move with the keyboard"
                else:
                    options = el.locator("option")
                    cur = el.input_value()
                    nxt = next(options.nth(i).get_attribute("value") for i in range(options.count())
                               if options.nth(i).get_attribute("value") != cur)
                    el.select_option(nxt)
                frame, src = _expected_frame(page, exp)
                assert exp.get_attribute("data-frame") == str(frame)
                assert img.get_attribute("src") == src
                page.wait_for_function("i => i.complete && i.naturalWidth > 0",
                                       arg=img.element_handle(), timeout=10000)
        assert problems == []
    finally:
        ctx.close()


def test_every_figure_has_alt_text():
    """Every image in the book, static figure or experiment frame, describes itself."""
    import re

    for path in pages():
        for tag in re.findall(r"<img\b[^>]*>", (SITE / path).read_text()):
            alt = re.search(r'\balt="([^"]*)"', tag)
            assert alt and alt.group(1).strip(), f"{path}: image without alt text: {tag[:120]}"


@pytest.mark.parametrize("path", EXPERIMENT_PAGES[:1])
def test_experiment_frames_load_from_file_urls(browser, path):
    """Opened from disk (file://), where fetch is refused, the frames still load: plain <img>."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    try:
        page.goto((SITE / path).resolve().as_uri(), wait_until="load")
        exp = page.locator(".nnbook-exp").first
        exp.scroll_into_view_if_needed()
        img = exp.locator("img.nnbook-exp-frame")
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle(),
                               timeout=10000)
        control = exp.locator(".nnbook-exp-controls input, .nnbook-exp-controls select").first
        kind = control.evaluate("e => e.type")
        if kind.startswith("select"):
            values = control.locator("option").evaluate_all("os => os.map(o => o.value)")
            control.select_option(next(v for v in values if v != control.input_value()))
        else:
            control.focus()
            page.keyboard.press("ArrowRight" if kind == "range" else "Space")
        frame, src = _expected_frame(page, exp)
        assert img.get_attribute("src") == src
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle(),
                               timeout=10000)
    finally:
        ctx.close()


@pytest.mark.parametrize("path", EXPERIMENT_PAGES)
def test_the_pdf_gets_every_experiments_first_frame(browser, site_url, path):
    """scripts/pdf.py prepares a page (PREPARE_JS) before printing it: every experiment's image
    must then hold its first frame, loaded, although the reader never scrolled to it."""
    from pdf import INTERACTIVE_NOTE, PREPARE_JS

    ctx, page, problems = open_page(browser, site_url, path)
    try:
        page.evaluate(PREPARE_JS, INTERACTIVE_NOTE)
        for img in page.locator("img.nnbook-exp-frame").all():
            assert img.get_attribute("src") == img.get_attribute("data-src")
            assert img.evaluate("i => i.complete && i.naturalWidth > 0")
        assert problems == []
    finally:
        ctx.close()
