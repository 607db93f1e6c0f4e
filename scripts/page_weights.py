"""What a reader's first load of a page transfers: the page itself and everything it loads.

Opens the page in headless Chromium (1280x900, scripts/browser.py) from a local server, waits
until the network is idle, and sums the files of every request, raw and gzipped (level 6, as a
web server compresses text; images count as they are, already compressed). Experiment frames
(``_frames/``) requested during that first load are listed: none should be, unless the
experiment is on the first screen.

    .venv/bin/python scripts/page_weights.py _build/html book/07-convolution.html [...]
"""
from __future__ import annotations

import gzip
import json
import pathlib
import sys
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from browser import launch, serve  # noqa: E402

COMPRESSED = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".ico")


def file_weight(path: pathlib.Path) -> tuple[int, int]:
    """(raw bytes, bytes as sent gzipped) of one file."""
    data = path.read_bytes()
    if path.suffix.lower() in COMPRESSED:
        return len(data), len(data)
    return len(data), len(gzip.compress(data, compresslevel=6, mtime=0))


def first_load(page, site: pathlib.Path, site_url: str, path: str) -> dict:
    """Open ``path`` on a Playwright page and measure what it requested."""
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{site_url}/{path}", wait_until="networkidle")
    files = []
    for url in dict.fromkeys(requested):
        if not url.startswith(site_url):
            continue
        rel = urllib.parse.unquote(urllib.parse.urlsplit(url).path).lstrip("/")
        f = site / rel
        if f.is_file():
            files.append(f)
    weights = {str(f.relative_to(site)): file_weight(f) for f in files}
    html_raw, html_gz = file_weight(site / path)
    return {"html": html_raw, "html_gz": html_gz,
            "total": sum(w[0] for w in weights.values()),
            "total_gz": sum(w[1] for w in weights.values()),
            "frames": [k for k in weights if k.startswith("_frames/")],
            "files": weights}


def main(site: str, paths: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    site_dir = pathlib.Path(site).resolve()
    server, url = serve(site_dir)
    try:
        with sync_playwright() as p:
            b = launch(p)
            for path in paths:
                ctx = b.new_context(viewport={"width": 1280, "height": 900})
                m = first_load(ctx.new_page(), site_dir, url, path)
                ctx.close()
                top = sorted(m["files"].items(), key=lambda kv: -kv[1][1])[:6]
                print(f"{path}: HTML {m['html'] / 1e3:.0f} KB ({m['html_gz'] / 1e3:.0f} KB gzipped); "
                      f"first load {m['total'] / 1e3:.0f} KB ({m['total_gz'] / 1e3:.0f} KB gzipped) "
                      f"in {len(m['files'])} files, {len(m['frames'])} frame files; largest (gz KB): "
                      + ", ".join(f"{k} {v[1] / 1e3:.0f}" for k, v in top))
            b.close()
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
