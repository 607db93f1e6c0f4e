"""The PDF of the book (``make pdf``, printed from the built HTML by Debian's Chromium).

It has a title page, a contents page, every page of ``_toc.yml`` in order under its (numbered)
title, typeset math (no raw TeX outside code), the figures, and each static experiment at its
initial frame with a line saying it is interactive in the HTML book.
"""
from __future__ import annotations

import html as htmllib
import re
import sys
import unicodedata

import pytest

from conftest import ROOT, SITE

sys.path.insert(0, str(ROOT / "scripts"))
from pdf import INTERACTIVE_NOTE, book_pages  # noqa: E402

PDF = ROOT / "_build" / "pdf" / "nnbook.pdf"
TEX = re.compile(r"\$\$|\\\(|\\\[|\\(?:frac|mathbf|begin|end|left|right|sum|sigma|partial|"
                 r"operatorname|mathrm|boldsymbol|tfrac|dfrac|cdot|quad)\b")


def _norm(text: str) -> str:
    """Whitespace collapsed, ligatures (the PDF's "ﬁ") spelled out."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _h1(path: str) -> str:
    m = re.search(r"<h1[^>]*>(.*?)</h1>", (SITE / path).read_text(), re.S)
    text = re.sub(r"<[^>]+>", "", m.group(1)) if m else ""
    return _norm(htmllib.unescape(text).replace("#", ""))


@pytest.fixture(scope="module")
def book():
    from pypdf import PdfReader

    if not PDF.exists():
        pytest.fail("no PDF: run `make pdf` (after `make book`)")
    reader = PdfReader(PDF)
    texts = [_norm(p.extract_text() or "") for p in reader.pages]
    return reader, texts


def test_size_and_page_count(book):
    reader, _ = book
    n = len(reader.pages)
    assert len(book_pages()) + 2 <= n <= 60 * len(book_pages()), n
    assert PDF.stat().st_size < 60e6
    assert (SITE / "nnbook.pdf").read_bytes() == PDF.read_bytes(), "the site offers another PDF"


def test_title_page_contents_and_every_chapter_in_order(book):
    reader, texts = book
    assert "nnbook" in texts[0]
    assert texts[1].startswith("Contents")
    titles = [_h1(p) for p in book_pages()]
    assert all(titles)
    outline = [item.title for item in reader.outline]
    assert len(outline) == len(titles)
    numbered = 0
    last = 0
    for title, entry in zip(titles, outline):
        assert entry.endswith(title), (entry, title)
        numbered += bool(re.match(r"\d+\. ", entry))
        assert entry in texts[1], f"{entry!r} missing from the contents page"
        start = int(re.search(re.escape(entry) + r" (\d+)", texts[1]).group(1))
        assert start > last and title in texts[start - 1], f"{title!r} not on page {start}"
        last = start
    assert numbered >= 1, "no numbered chapter"


def test_math_is_typeset_no_raw_tex(book):
    _, texts = book
    code = _norm(" ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", m))
                          for p in book_pages()
                          for m in re.findall(r"<pre[^>]*>(.*?)</pre>", (SITE / p).read_text(), re.S)))
    raw = []
    for k, text in enumerate(texts):
        for m in TEX.finditer(text):
            snippet = text[max(0, m.start() - 12):m.end() + 12]
            if snippet not in code:                 # TeX inside a code cell is code
                raw.append((k + 1, snippet))
    assert not raw, f"raw TeX in the PDF: {raw[:10]}"


def test_figures_and_experiments_are_printed(book):
    reader, texts = book
    pages = [(SITE / p).read_text() for p in book_pages()]
    n_img = sum(len(re.findall(r"<img\b", h)) for h in pages)
    n_exp = sum(h.count('class="nnbook-exp"') for h in pages)
    images = sum(len(p.images) for p in reader.pages)
    assert images >= n_img, f"{images} images in the PDF, {n_img} in the HTML"
    assert _norm(" ".join(texts)).count(_norm(INTERACTIVE_NOTE)) == n_exp


def test_citations_and_reference_lists_are_printed(book):
    """Every chapter's citations and reference list reach the PDF as the HTML shows them."""
    from reader_copies import page_citations, toc_notebooks

    _, texts = book
    printed = _norm(" ".join(texts)).replace("*", "")
    chapters = [f"book/{p.stem}.html" for p in toc_notebooks()]
    assert printed.count("References") >= len(chapters)
    problems = []
    for path in chapters:
        citations = page_citations(SITE / path)
        entries = [e for lst in citations["bibliographies"] for _, e in lst]
        if not entries:
            problems.append(f"{path}: no reference list to print")
        for entry in entries:
            # the entry's opening words as text (authors, title), without Markdown marks
            start = _norm(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", entry).replace("*", ""))[:60]
            if start not in printed:
                problems.append(f"{path}: reference {start!r} not in the PDF")
        for text in citations["cites"].values():
            if _norm(text.replace("*", "")) not in printed:
                problems.append(f"{path}: citation {text!r} not in the PDF")
    assert not problems, problems
