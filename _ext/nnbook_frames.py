"""Light pages: the frames of the static experiments become image files of their own.

``nnbook.display.widgets`` writes each experiment's frames into the executed notebook as base64
PNG in a JSON block (that is all a notebook output can hold). Inlined in the HTML they made
chapter 7's page 3.5 MB (2.6 MB gzipped) although a reader may never touch an experiment. When
Sphinx writes a page, :func:`externalize` moves every frame into ``_frames/<sha1>.png`` at the
root of the site (identical frames, within or across pages, are one file), puts the frames'
relative URLs in the JSON block instead, and leaves the ``<img>`` without a ``src`` (its
``width``/``height`` keep the space) and with the first frame's URL in ``data-src``.
``_static/nnbook-experiments.js`` sets the ``src`` when the experiment comes near the screen (an
``IntersectionObserver``) or is touched (a pointer, the keyboard focus, any control), and then on
every change: plain ``<img>`` sources, which load from a web server, offline and from
``file://`` (no ``fetch``). ``scripts/pdf.py`` loads every experiment's first frame before it
prints. ``build_tests/test_site.py`` checks the weights and that no frame is requested before
its experiment is reached.

The theme (pydata-sphinx-theme, under sphinx-book-theme) also loads ``fontawesome.js``, 543 KB
gzipped, on every page, with no option to leave it out; it swaps the icons' ``<i>`` elements for
SVG, while the theme's CSS already draws the same icons from the Font Awesome web font it ships
(``.fa-bars:before{content:...}``, ``fa-solid-900.woff2``, 156 KB). :func:`drop_fontawesome_js`
removes that script tag from every page when the build has finished; the icons stay.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import struct

FRAMES_DIR = "_frames"

_IMG = re.compile(r'<img class="nnbook-exp-frame" alt="([^"]*)" src="data:image/png;base64,'
                  r'([A-Za-z0-9+/=]+)">')
_DATA = re.compile(r'(<script type="application/json" class="nnbook-exp-data">)(.*?)(</script>)',
                   re.S)
_EXP = re.compile(r'<div class="nnbook-exp" id="nnx-[0-9a-f]+" data-frame="(\d+)">.*?'
                  r'class="nnbook-exp-data">.*?</script></div>', re.S)


def _png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])  # IHDR: width, height


def _frame_file(outdir: str, png: bytes) -> str:
    name = hashlib.sha1(png).hexdigest()[:20] + ".png"
    path = os.path.join(outdir, FRAMES_DIR, name)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"  # (parallel writers: whole files only)
        with open(tmp, "wb") as f:
            f.write(png)
        os.replace(tmp, path)
    return name


def externalize_experiments(body: str, outdir: str, prefix: str) -> str:
    """``body`` with every experiment's frames written to files under ``outdir/_frames``.

    ``prefix`` is the way from the page up to the site root (``"../"`` for ``book/x.html``)."""
    def one(match):
        block = match.group(0)
        first = int(match.group(1))
        data_match = _DATA.search(block)
        data = json.loads(data_match.group(2))
        pngs = [base64.b64decode(f) for f in data["frames"]]
        urls = [f"{prefix}{FRAMES_DIR}/{_frame_file(outdir, p)}" for p in pngs]
        data["frames"] = urls
        w, h = _png_size(pngs[first])

        def img(m):
            return (f'<img class="nnbook-exp-frame" alt="{m.group(1)}" width="{w}" height="{h}" '
                    f'data-src="{html.escape(urls[first])}">')
        block = _IMG.sub(img, block, count=1)
        return _DATA.sub(lambda m: m.group(1) + json.dumps(data, separators=(",", ":"))
                         + m.group(3), block, count=1)
    return _EXP.sub(one, body)


def _page_context(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if not body or "nnbook-exp-data" not in body:
        return
    prefix = "../" * pagename.count("/")
    context["body"] = externalize_experiments(body, app.outdir, prefix)


_FA_JS = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')


def drop_fontawesome_js(outdir: str) -> int:
    """Remove the theme's fontawesome.js script tag from every HTML page; returns the count."""
    n = 0
    for root, _, files in os.walk(outdir):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                new, k = _FA_JS.subn("", text)
                if k:
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(new)
                    n += k
    return n


def _build_finished(app, exception):
    if exception is None and app.builder.format == "html":
        drop_fontawesome_js(app.outdir)


def setup(app):
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
