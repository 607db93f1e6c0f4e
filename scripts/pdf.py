"""Print the built HTML book to one PDF with Debian's Chromium (no TeX, no browser download).

    python scripts/pdf.py [SITE_DIR] [OUT_PDF]     (defaults: _build/html, _build/pdf/nnbook.pdf)

Every page of ``_toc.yml``, in reading order, is printed from the built site (math already
typeset by the vendored MathJax, figures as in the HTML; the side bars and hidden code left
out, folded solutions opened, each static experiment shown at its initial frame with a line
saying that it is interactive in the HTML book). A title page and a table of contents with page numbers come first; every page
gets its number in the footer, and the PDF has one bookmark per chapter. The PDF is also copied
into the site (``nnbook.pdf``) so that the published book offers it.
"""
from __future__ import annotations

import datetime
import html
import io
import pathlib
import shutil
import sys

import yaml
from pypdf import PdfReader, PdfWriter

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from browser import launch, serve  # noqa: E402
from reader_copies import toc_files  # noqa: E402

INTERACTIVE_NOTE = "This figure is interactive in the HTML book: its controls redraw it there."
PRINT_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article, .bd-header-article,
.prev-next-area, footer, .bd-footer, .bd-footer-article, .bd-footer-content, .headerlink,
.nnbook-exp-controls, .toggle-button, button.toggle-button, .copybtn, #pst-back-to-top,
.search-button-field, .skip-link { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; padding: 0 !important; }
.bd-page-width { max-width: 100% !important; }
body { font-size: 10.5pt; }
figure, img, .nnbook-exp, mjx-container[display="true"], table, .cell_input, .cell_output { break-inside: avoid; }
.nnbook-print-note { font-style: italic; font-size: .9em; margin-top: .3em; }
details.hide.above-input { display: none !important; }   /* code the HTML hides behind a toggle */
.solution .toggle-hidden { display: block !important; visibility: visible !important; }
div.citation-list > div.citation { break-inside: avoid; }   /* a reference is not split across pages */
"""
PREPARE_JS = """async note => {
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  // each experiment's first frame: its image file loads only when asked (_ext/nnbook_frames.py)
  if (window.nnbookLoadExperiments) window.nnbookLoadExperiments();
  await Promise.all([...document.querySelectorAll('img.nnbook-exp-frame')].map(img =>
    img.complete ? null : new Promise(done => { img.onload = img.onerror = done; })));
  document.querySelectorAll('.nnbook-exp').forEach(exp => {
    const p = document.createElement('p');
    p.className = 'nnbook-print-note';
    p.textContent = note;
    exp.appendChild(p);
  });
}"""


def book_pages(root: pathlib.Path = ROOT) -> list[str]:
    """The HTML page of every file in ``_toc.yml``, in reading order."""
    return [f"{f}.html" for f in toc_files(root)]


def _title_and_toc(title: str, author: str, entries: list[tuple[str, int]]) -> str:
    rows = "".join(f'<tr><td>{html.escape(t)}</td><td class="n">{n}</td></tr>' for t, n in entries)
    today = datetime.date.today().isoformat()
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
      @page {{ size: A4; margin: 25mm 22mm; }}
      body {{ font-family: sans-serif; }}
      .title {{ height: 230mm; display: flex; flex-direction: column; justify-content: center; }}
      .title h1 {{ font-size: 30pt; margin: 0 0 .4em 0; }} .title p {{ font-size: 14pt; color: #333; }}
      h2 {{ break-before: page; font-size: 20pt; }}
      table {{ width: 100%; border-collapse: collapse; font-size: 12pt; }}
      td {{ padding: .35em 0; border-bottom: 1px dotted #999; }} td.n {{ text-align: right; }}
    </style></head><body>
    <div class="title"><h1>{html.escape(title)}</h1><p>{html.escape(author)}</p>
    <p>Printed from the HTML book on {today}. The HTML book has the interactive experiments.</p></div>
    <h2>Contents</h2><table>{rows}</table></body></html>"""


def _page_numbers(page, n: int) -> bytes:
    """An n-page PDF with only the page number at the foot of each page (to stamp on the book)."""
    pages = "".join(f'<div class="p"><span>{k}</span></div>' for k in range(1, n + 1))
    page.set_content(f"""<!doctype html><html><head><style>
      @page {{ size: A4; margin: 0; }} body {{ margin: 0; font: 9pt sans-serif; color: #555; }}
      .p {{ height: 297mm; position: relative; break-after: page; }}
      .p span {{ position: absolute; bottom: 8mm; width: 100%; text-align: center; }}
    </style></head><body>{pages}</body></html>""")
    return page.pdf(format="A4", print_background=False)


def build_pdf(site: pathlib.Path, out: pathlib.Path) -> dict:
    """Print the book in ``site`` to ``out``; returns {"pages": n, "bytes": size, "chapters": [...]}."""
    from playwright.sync_api import sync_playwright

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    server, base = serve(site)
    chapters: list[tuple[str, bytes]] = []
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:"))
                       else r.abort())
            for path in book_pages():
                if not (site / path).exists():
                    raise FileNotFoundError(f"{site / path} is not built: run `make book` first")
                page.goto(f"{base}/{path}", wait_until="networkidle")
                if page.locator(".math").count() and page.evaluate("() => !!window.MathJax"):
                    # (a page with math but without MathJax prints raw TeX: test_pdf.py says so)
                    page.wait_for_selector("mjx-container", state="attached", timeout=30000)
                    page.evaluate("() => MathJax.startup && MathJax.startup.promise")
                page.add_style_tag(content=PRINT_CSS)
                page.evaluate(PREPARE_JS, INTERACTIVE_NOTE)
                page.emulate_media(media="print")
                # the numbered title ("1. Feedforward networks") as the side bar shows it
                current = page.locator("nav.bd-links li.current > a, .bd-sidebar-primary a.current")
                heading = current.first if current.count() else page.locator("h1").first
                title = " ".join(heading.text_content().replace("#", "").split())
                chapters.append((title, page.pdf(format="A4", print_background=True,
                                                 prefer_css_page_size=True)))
            counts = [len(PdfReader(io.BytesIO(pdf)).pages) for _, pdf in chapters]
            # front matter: title page + contents (printed twice: the 2nd time with its own length)
            front_len = 2
            for _ in range(2):
                starts, k = [], front_len + 1
                for c in counts:
                    starts.append(k)
                    k += c
                page.set_content(_title_and_toc(config.get("title", "nnbook"), config.get("author", ""),
                                                [(t, s) for (t, _), s in zip(chapters, starts)]))
                front = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
                n_front = len(PdfReader(io.BytesIO(front)).pages)
                if n_front == front_len:
                    break
                front_len = n_front
            total = front_len + sum(counts)
            numbers = PdfReader(io.BytesIO(_page_numbers(page, total)))
            browser.close()
    finally:
        server.shutdown()
        server.server_close()

    writer = PdfWriter()
    for part in [front] + [pdf for _, pdf in chapters]:
        writer.append(PdfReader(io.BytesIO(part)))
    for k, pg in enumerate(writer.pages):
        if k > 0:                                   # no number on the title page
            pg.merge_page(numbers.pages[k])
    for (title, _), start in zip(chapters, starts):
        writer.add_outline_item(title=title, page_number=start - 1)
    writer.add_metadata({"/Title": config.get("title", "nnbook"), "/Author": config.get("author", "")})
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        writer.write(fh)
    shutil.copyfile(out, site / "nnbook.pdf")
    return {"pages": total, "bytes": out.stat().st_size, "chapters": [t for t, _ in chapters]}


def main():
    site = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "html"
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "_build" / "pdf" / "nnbook.pdf"
    info = build_pdf(site, out)
    print(f"{out}: {info['pages']} pages, {info['bytes'] / 1e6:.1f} MB, {len(info['chapters'])} parts")


if __name__ == "__main__":
    main()
