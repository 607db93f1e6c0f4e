"""The errata page lists every correction box of the book, once, each linking back to it."""
from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from conftest import SITE, pages

ERRATA = "book/errata.html"


def _soup(path: str) -> BeautifulSoup:
    return BeautifulSoup((SITE / path).read_text(), "html.parser")


def _boxes() -> dict[str, list[str]]:
    """Page -> ids of its ``correction`` admonitions (the errata page itself excluded)."""
    found = {}
    for path in pages():
        if path == ERRATA:
            continue
        ids = [d.get("id") for d in _soup(path).select("div.admonition.correction")]
        if ids:
            found[path] = ids
    return found


def _entries():
    if not (SITE / ERRATA).exists():
        pytest.fail("the book has no errata page: is book/errata in _toc.yml?")
    return _soup(ERRATA).select("li.nnbook-erratum")


def test_errata_lists_every_correction_box():
    boxes = _boxes()
    entries = _entries()
    assert len(entries) == sum(len(v) for v in boxes.values())
    assert not _soup(ERRATA).select("div.admonition.correction"), \
        "the errata page copies the text of each box, not the box itself"


def test_every_erratum_links_to_its_box():
    boxes = _boxes()
    targets = []
    for li in _entries():
        link = li.select_one("a[href]")
        assert link is not None, f"erratum without a link: {li.get_text(' ', strip=True)[:80]}"
        page, _, anchor = link["href"].partition("#")
        targets.append((f"book/{page}", anchor))
    # every box is linked exactly once, and every link lands on a box
    assert sorted(targets) == sorted((p, i) for p, ids in boxes.items() for i in ids)


def test_every_correction_box_has_an_anchor_and_a_title():
    for path, ids in _boxes().items():
        assert all(ids), f"{path}: a correction box has no id to link to"
        assert len(set(ids)) == len(ids), f"{path}: two correction boxes share an id"
        for box in _soup(path).select("div.admonition.correction"):
            title = box.select_one(".admonition-title")
            assert title is not None and title.get_text().startswith("Correction"), path


def test_errata_page_typesets_the_copied_math():
    if "math notranslate" in (SITE / ERRATA).read_text():
        assert "mathjax" in (SITE / ERRATA).read_text().lower(), "the errata page does not load MathJax"
