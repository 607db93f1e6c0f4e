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
    """A page and the frames it embeds stay under ~8 MB."""
    for path in pages():
        size = (SITE / path).stat().st_size
        assert size < 8_000_000, f"{path} is {size / 1e6:.1f} MB"


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
    return frame, "data:image/png;base64," + data["frames"][frame]


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
