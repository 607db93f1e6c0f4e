"""The errata mechanism of ``_ext/nnbook_build.py`` on a tiny Sphinx project (no notebooks).

The full book is checked by ``build_tests/test_errata.py``; this builds three small pages in a
subprocess (the extension sets ``NNBOOK_BUILD`` in its process) and checks that every
``correction`` box appears once on the errata page, in reading order, with a working link.
"""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOX = """:::{{admonition}} Correction: {title}
:class: correction
What is printed, what is right: $x^{power}$.
:::
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    bs4 = pytest.importorskip("bs4")
    pytest.importorskip("myst_parser")
    src = tmp_path_factory.mktemp("errata-src")
    # the book's theme: the extension sets theme options that other themes reject
    (src / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / '_ext')!r})\n"
        "extensions = ['myst_parser', 'nnbook_build']\n"
        "myst_enable_extensions = ['colon_fence', 'dollarmath']\n"
        "root_doc = 'index'\nhtml_theme = 'sphinx_book_theme'\n")
    (src / "index.md").write_text("# Book\n\n```{toctree}\nch2\nch1\nerrata\n```\n")
    (src / "ch1.md").write_text("# Chapter one\n\n" + BOX.format(title="one A", power=1)
                                + "\ntext\n\n" + BOX.format(title="one B", power=2))
    (src / "ch2.md").write_text("# Chapter two\n\n" + BOX.format(title="two", power=3)
                                + "\n:::{note}\nnot a correction\n:::\n")
    (src / "errata.md").write_text("# Errata\n\n```{errata}\n```\n")
    out = src / "_out"
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src),
                          str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return out, bs4.BeautifulSoup


def test_errata_lists_each_box_once_in_reading_order(site):
    out, soup = site
    page = soup((out / "errata.html").read_text(), "html.parser")
    entries = page.select("li.nnbook-erratum")
    assert [e.find("strong").get_text() for e in entries] == ["Two", "One A", "One B"]
    assert [e.find("a")["href"] for e in entries] == [
        "ch2.html#correction-1", "ch1.html#correction-1", "ch1.html#correction-2"]
    assert "x^3" in entries[0].get_text()          # the text of the box is copied
    assert not page.select("div.admonition.correction")
    assert "mathjax" in (out / "errata.html").read_text().lower()


def test_every_link_lands_on_its_box(site):
    out, soup = site
    for name, ids in [("ch1", ["correction-1", "correction-2"]), ("ch2", ["correction-1"])]:
        page = soup((out / f"{name}.html").read_text(), "html.parser")
        assert [d.get("id") for d in page.select("div.admonition.correction")] == ids
