"""The built book's citations and reference lists (sphinxcontrib-bibtex; see CONTRIBUTING.md).

Every chapter page ends with a non-empty reference list; every citation on a page reads
"Author (Year)" or "(Author, Year)" and links to an entry of that page's own list; no raw role
or directive is left; and a browser shows each entry without the hidden label. The reader copies
(test_lab.py) and the PDF (test_pdf.py) are checked against the same lists."""
from __future__ import annotations

import html as htmllib
import re
import sys

import pytest

from conftest import ROOT, SITE

sys.path.insert(0, str(ROOT / "scripts"))
import reader_copies  # noqa: E402

CHAPTERS = [f"book/{p.stem}.html" for p in reader_copies.toc_notebooks()]
CITED = re.compile(r"^(\(.+, \d{4}[a-z]?\)|.+ \(\d{4}[a-z]?\))$")   # (A, 1989; B, 1990) or A (1989)


def text_of(page_html: str) -> str:
    """The visible text of a page: no scripts, styles or code."""
    body = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", page_html, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_ends_with_a_non_empty_reference_list(path):
    page_html = (SITE / path).read_text()
    m = re.search(r'<section id="references">(.*)', page_html, re.S)
    assert m, f"{path}: no References section"
    refs = m.group(1)
    assert re.search(r"<h2>(<span class=\"section-number\">[^<]*</span>)?References", refs)
    lists = reader_copies.page_citations(SITE / path)["bibliographies"]
    assert len(lists) == 1 and lists[0], f"{path}: the reference list is missing or empty"
    assert all(entry.strip() for _, entry in lists[0])
    # it is the page's last section: no heading of level 2 after it
    assert not re.search(r"<h2\b", refs[refs.index("</h2>"):])


@pytest.mark.parametrize("path", CHAPTERS)
def test_citations_read_author_year_and_link_to_their_own_page(path):
    page_html = (SITE / path).read_text()
    cites = reader_copies.page_citations(SITE / path)["cites"]
    assert cites, f"{path} cites nothing"
    listed = set(re.findall(r'<div class="citation" id="cite-([^"]+)"', page_html))
    for (kind, keys), text in cites.items():
        assert CITED.match(text.replace("*", "")), f"{path}: citation reads {text!r}"
        assert set(keys) <= listed, f"{path}: {keys} not in this page's reference list"
    linked = set(re.findall(r'href="#cite-([^"]+)"', page_html))
    assert linked == listed, f"{path}: listed but never cited: {sorted(listed - linked)}"


@pytest.mark.parametrize("path", sorted(str(p.relative_to(SITE)) for p in (SITE / "book").glob("*.html")))
def test_no_raw_citation_markup(path):
    text = text_of((SITE / path).read_text())
    raw = re.findall(r"\{cite(?::\w+)?\}|\{bibliography\}|:filter:", text)
    assert not raw, f"{path}: raw markup {raw[:3]}"


def test_a_browser_shows_the_entries_without_labels(browser, site_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(f"{site_url}/{CHAPTERS[0]}", wait_until="networkidle")
        entries = page.locator("#references div.citation")
        assert entries.count() >= 1
        for k in range(entries.count()):
            entry = entries.nth(k)
            assert entry.locator("p").is_visible()
            assert not entry.locator("span.label").is_visible()   # the BibTeX key stays hidden
            box = entry.bounding_box()
            assert box and box["width"] > 300 and box["height"] < 200, box
    finally:
        page.close()
