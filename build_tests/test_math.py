"""Rendered math is clean TeX: no control character (TAB, backspace, form feed, ...) inside any
math on any page. A TeX command written in a non-raw Python string loses its backslash to an
escape ("\\times" becomes a TAB and "imes", "\\frac" a form feed and "rac", "\\beta" a backspace
and "eta") and MathJax silently prints the rest; tests/test_bibliography.py checks the notebook
sources, this test the built HTML, which also holds what code glued or printed."""
from __future__ import annotations

import html as htmllib
import re

import pytest

from conftest import SITE

# MyST's math as Sphinx writes it: inline <span class="math ...">\(...\)</span>, display
# <div class="math ...">\[...\]</div> (labelled display math carries an id and an eqno span)
MATH = re.compile(r'<(span|div) class="math notranslate nohighlight"[^>]*>(.*?)</\1>', re.S)
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")    # every control character but the newline


def all_pages():
    return sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
                  if not p.relative_to(SITE).parts[0].startswith(("_", "vendor")))


def mangled_math(page_html: str) -> list[str]:
    """Each piece of math in ``page_html`` that holds a control character, with the character
    shown escaped."""
    bad = []
    for m in MATH.finditer(page_html):
        tex = htmllib.unescape(re.sub(r"<[^>]+>", "", m.group(2)))
        if CONTROL.search(tex):
            bad.append(repr(tex.strip())[:160])
    return bad


def test_the_check_sees_math_and_a_mangled_times():
    page = ('<p><span class="math notranslate nohighlight">\\(C \times H\\)</span> and '
            '<span class="math notranslate nohighlight">\\(C \\times H\\)</span></p>'
            '<div class="math notranslate nohighlight" id="eq-x">\n\\[\x0crac{1}{2}\\]</div>')
    assert mangled_math(page) == [repr("\\(C \times H\\)"), repr("\\[\x0crac{1}{2}\\]")]
    assert mangled_math('<span class="math notranslate nohighlight">\\(a\\)</span>') == []


def test_every_page_is_checked():
    pages = all_pages()
    assert any(p.startswith("book/") for p in pages) and "book/notation.html" in pages
    assert sum(bool(MATH.search((SITE / p).read_text())) for p in pages) >= 10, "no math found"


@pytest.mark.parametrize("path", all_pages())
def test_no_control_character_in_rendered_math(path):
    bad = mangled_math((SITE / path).read_text())
    assert not bad, f"{path}: math with a control character (a lost backslash?): {bad[:5]}"
