"""A student reads a chapter in JupyterLab (``make lab``): the same book as the HTML.

The reader's copy of every chapter is made from the build's executed notebooks (no execution).
One chapter, the first in ``_toc.yml``, is opened in a real JupyterLab in headless Chromium and
run there: its rendered prose shows numbers, not glue roles; exercises, solutions, admonitions and
math are rendered; the check cells are collapsed; the experiments are live widgets that redraw.
That run is the chapter's live run of ``make test``: nbval leaves this chapter out, and the test
records its glued values in ``_build/nbval-glue/`` for the determinism check, so this chapter, like
every other, executes exactly twice in a test run.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import reader_copies  # noqa: E402

CACHE = ROOT / "_build" / ".jupyter_cache"
NBVAL_GLUE = ROOT / "_build" / "nbval-glue"   # live-run records (see book/conftest.py)
# What raw MyST looks like when a renderer does not understand it.
RAW = re.compile(r"\{glue(:\w+)?\}|\{solution(-start|-end)?\}|\{exercise\}|\{admonition\}"
                 r"|^:::|```|\{numref\}|\{eq\}|\\(frac|mathbf|sum|begin|sigma)\b", re.M)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    written = reader_copies.write_reader_copies(CACHE, out)
    return out, written


def test_every_chapter_has_a_reader_copy_without_glue_roles(copies):
    out, written = copies
    assert [p.name for p in written] == [p.name for p in reader_copies.toc_notebooks()]
    for path in written:
        nb = nbformat.read(path, as_version=4)
        source = nbformat.read(ROOT / "book" / path.name, as_version=4)
        n_figures = sum(bool(c.metadata.get("mystnb", {}).get("figure", {}).get("caption"))
                        for c in source.cells)
        assert sum(bool(c.metadata.get("nnbook_caption")) for c in nb.cells) == n_figures
        numbers = reader_copies.page_numbers(ROOT / "_build" / "html" / "book" / f"{path.stem}.html")
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        # exercises and labelled equations carry the HTML book's numbers; no $$ math is left
        assert numbers["exercises"], f"{path.name}: no exercise numbers in the built page"
        for label, number in numbers["exercises"].items():
            assert re.search(rf":label: {re.escape(label)}\n:enumerator: {re.escape(number)}\n", prose)
        for label, number in numbers["equations"].items():
            assert f":label: {label}\n:enumerator: {number}\n" in prose, (path.name, label)
        assert "$$" not in prose
        # citations read as in the HTML book, and the reference list is its list, one bullet each
        citations = reader_copies.page_citations(ROOT / "_build" / "html" / "book" / f"{path.stem}.html")
        for text in citations["cites"].values():
            assert text in prose, (path.name, text)
        refs = prose[prose.rindex("## References"):]
        entries = [e for lst in citations["bibliographies"] for _, e in lst]
        assert entries and [l[2:] for l in refs.splitlines() if l.startswith("- ")] == entries
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                raw = re.findall(r"\{glue(:\w+)?\}|\{solution-(start|end)\}|\{numref\}|\{cite(:\w+)?\}"
                                 r"|\{bibliography\}", cell.source)
                assert not raw, f"{path.name}: raw markup left: {raw[:3]}"
            else:
                assert cell.outputs == []
                tags = cell.metadata.get("tags", [])
                if "remove-cell" in tags:
                    assert cell.metadata["jupyter"]["source_hidden"]
                    assert cell.source.startswith(reader_copies.CHECK_MARK)


def test_glue_values_are_formatted_as_in_the_html_book():
    values = {"x": {"text/plain": "0.123456"}, "n": {"text/plain": "42"},
              "t": {"text/markdown": "| a |\n|---|\n| 1 |"}}
    text = "x is {glue:text}`x:.3f`, n is {glue:text}`n` and {glue:}`n`."
    assert reader_copies.fill_glue(text, values) == "x is 0.123, n is 42 and 42."
    table = "Before\n```{glue:md} t\n:format: myst\n```\nafter"
    assert reader_copies.fill_glue(table, values) == "Before\n\n| a |\n|---|\n| 1 |\n\nafter"
    with pytest.raises(KeyError, match="missing"):
        reader_copies.fill_glue("{glue:text}`missing`", values)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(copies, tmp_path_factory):
    """A JupyterLab server on the reader's copies (offline, isolated settings, as root too)."""
    out, _ = copies
    home = tmp_path_factory.mktemp("labhome")
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # render every cell (JupyterLab 4 otherwise only renders the cells in view)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = _free_port(), "nnbook-test"
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    env.pop("NNBOOK_BUILD", None)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
           f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={out}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = home / "lab.log"
    log_file = log.open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("jupyter lab exited: " + log.read_text()[-2000:])
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()


def test_a_chapter_reads_like_the_book_in_jupyterlab(lab, copies, browser):
    # the session's browser (build_tests/conftest.py): one Playwright per test session
    base, token = lab
    chapter = reader_copies.lab_chapter()
    n_checks = sum("remove-cell" in c.metadata.get("tags", [])
                   for c in nbformat.read(chapter, as_version=4).cells)
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:", "blob:"))
               else (problems.append("request left the machine: " + r.request.url), r.abort()))
    page.goto(f"{base}/lab/tree/book/{chapter.name}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-MarkdownCell", timeout=60000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session",
                           timeout=60000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # finished when every code cell has an execution count and the kernel is idle
    page.wait_for_function("""() => {
        const nb = window.jupyterapp.shell.currentWidget;
        const cells = nb.content.model.cells;
        for (let i = 0; i < cells.length; i++) {
            const c = cells.get(i);
            if (c.type === 'code' && !c.executionCount) return false;
        }
        return nb.sessionContext.session.kernel.status === 'idle';
    }""", timeout=300000, polling=1000)
    page.wait_for_timeout(1500)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.text_content()[:500]
    # the prose: every markdown cell rendered, no raw MyST left
    # (jupyterlab-myst renders into .myst; KaTeX keeps the TeX source in a MathML annotation)
    texts = page.eval_on_selector_all(".jp-Notebook .jp-MarkdownCell", """cells => cells.map(cell => {
        const out = cell.querySelector('.myst');
        if (!out) return cell.querySelector('.jp-InputArea-editor').textContent;  // unrendered
        const c = out.cloneNode(true);
        c.querySelectorAll('.katex-mathml, annotation, script, style').forEach(x => x.remove());
        return c.textContent;
    })""")
    raw = [(i, m.group(0), t[max(0, m.start() - 40):m.end() + 40])
           for i, t in enumerate(texts) for m in [RAW.search(t)] if m]
    assert not raw, f"raw MyST markup in {len(raw)} of {len(texts)} markdown cells: {raw[:5]}"
    prose = "\n".join(texts)
    assert "Exercise" in prose and "Solution" in prose
    assert re.search(r"Fig\. \d+\.\d+\.", prose), "no numbered figure caption"
    labels = [c.metadata["mystnb"]["figure"]["name"]
              for c in nbformat.read(chapter, as_version=4).cells
              if c.metadata.get("mystnb", {}).get("figure", {}).get("name")]
    unresolved = [label for label in labels if label in prose]
    assert not unresolved, f"figure references shown as raw labels: {unresolved}"
    assert page.locator(".jp-MarkdownCell .katex").count() > 10, "math not typeset"
    # numbered as in the HTML book: "Exercise 1.1", and "(1.4)" on labelled equations only
    html_numbers = reader_copies.page_numbers(ROOT / "_build" / "html" / "book" / f"{chapter.stem}.html")
    shown = page.eval_on_selector_all(".jp-MarkdownCell a[title='Link to this Equation']",
                                      "links => links.map(a => a.textContent.trim())")
    assert sorted(shown) == sorted(f"({n})" for n in html_numbers["equations"].values())
    for number in html_numbers["exercises"].values():
        assert f"Exercise {number}" in prose
    assert page.locator(".jp-MarkdownCell .katex-error").count() == 0, "TeX error"
    # figures as images, the check cells collapsed
    assert page.locator(".jp-OutputArea-output img").count() >= 3
    assert page.locator(".jp-InputPlaceholder").count() >= n_checks
    # the experiments are live widgets, and they redraw when a control moves
    widgets = page.locator(".jp-OutputArea-output .widget-vbox, .jp-OutputArea-output .jupyter-widgets")
    assert widgets.count() >= 1, "no live experiment"
    assert "Error displaying widget" not in page.locator(".jp-Notebook").text_content()
    select = page.locator(".jp-OutputArea-output .widget-dropdown select").first
    slider = page.locator(".jp-OutputArea-output .widget-slider .noUi-handle, "
                          ".jp-OutputArea-output .widget-slider .slider-handle").first
    if select.count():
        control = select.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][1]")
        img = control.locator("img").first
        before = img.get_attribute("src")
        options = select.locator("option")
        current = select.input_value()
        other = next(options.nth(i).get_attribute("value") for i in range(options.count())
                     if options.nth(i).get_attribute("value") != current)
        select.select_option(other)
        for _ in range(60):                 # the Output widget redraws: a new <img>
            page.wait_for_timeout(500)
            if img.count() and img.get_attribute("src") not in (None, before):
                break
        else:
            pytest.fail("the experiment did not redraw after its dropdown changed")
    else:
        assert slider.count(), "an experiment with neither a dropdown nor a slider"
    # save the executed notebook: its glued values are this chapter's live-run record
    saved = copies[0] / "book" / chapter.name
    before_save = saved.stat().st_mtime
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    for _ in range(60):
        page.wait_for_timeout(500)
        if saved.stat().st_mtime > before_save:
            break
    else:
        pytest.fail("JupyterLab did not save the executed notebook")
    page.wait_for_timeout(1000)
    context.close()
    assert problems == []
    values = reader_copies.glued_values(nbformat.read(saved, as_version=4))
    assert values, "the executed notebook glued nothing"
    NBVAL_GLUE.mkdir(parents=True, exist_ok=True)
    (NBVAL_GLUE / f"{chapter.stem}.json").write_text(json.dumps(values, sort_keys=True, indent=0))
