"""The bibliography: one references.bib, citations as {cite:t}/{cite:p} roles, and every chapter
ending with Summary, Exercises and References (see CONTRIBUTING.md, "Chapter skeleton and
citations"). The last two tests build a two-page book with the repository's settings: a work
cited by two chapters builds without a warning, an unknown key fails the -W build."""
from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIB = ROOT / "references.bib"
sys.path.insert(0, str(ROOT / "scripts"))
from reader_copies import toc_files  # noqa: E402

CITE = re.compile(r"\{cite(?::(\w*))?\}`([^`]*)`")
KEY = re.compile(r"[a-z]+[0-9]{4}[a-z0-9]+")
BIBLIOGRAPHY = "```{bibliography}\n:filter: docname in docnames\n```"
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")      # any control character but the newline
CHAPTERS = [ROOT / f"{f}.ipynb" for f in toc_files(ROOT) if (ROOT / f"{f}.ipynb").exists()]


def bib_entries():
    import pybtex.errors
    from pybtex.database import parse_file

    pybtex.errors.set_strict_mode(True)       # a repeated key or a syntax error raises
    return parse_file(str(BIB)).entries


def markdown(path: pathlib.Path, captions: bool = True) -> list[str]:
    """The markdown of a chapter: its markdown cells, in order, then its figure captions."""
    cells = json.loads(path.read_text())["cells"]
    out = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    if captions:
        out += [c["metadata"].get("mystnb", {}).get("figure", {}).get("caption", "") for c in cells]
    return [t for t in out if t]


def cited_keys(texts: list[str]) -> list[str]:
    return [k.strip() for t in texts for m in CITE.finditer(t) for k in m.group(2).split(",")]


def test_every_entry_has_a_good_key_and_a_doi_arxiv_id_or_url():
    entries = bib_entries()
    assert entries, "references.bib is empty"
    for key, e in entries.items():
        assert KEY.fullmatch(key), f"{key}: keys are lastnameYEARword, e.g. kingma2015adam"
        fields = {k.lower(): v for k, v in e.fields.items()}
        assert "year" in fields and "title" in fields, key
        assert e.persons.get("author") or e.persons.get("editor"), f"{key}: no author"
        if "eprint" in fields:
            assert fields.get("archiveprefix", "").lower() == "arxiv", f"{key}: archiveprefix = {{arXiv}}"
        if e.type.lower() != "book":
            assert {"doi", "eprint", "url"} & set(fields), f"{key}: give its DOI, arXiv id or URL"
        if "doi" in fields:
            assert re.fullmatch(r"10\.\d{4,9}/\S+", fields["doi"]), f"{key}: doi is the bare 10.xxx/..."


def test_every_citation_resolves_and_uses_the_two_roles():
    keys = set(bib_entries())
    for f in toc_files(ROOT):
        path = next((p for p in (ROOT / f"{f}.ipynb", ROOT / f"{f}.md") if p.exists()))
        texts = markdown(path) if path.suffix == ".ipynb" else [path.read_text()]
        for t in texts:
            for m in CITE.finditer(t):
                assert m.group(1) in ("t", "p"), f"{path.name}: {m.group(0)}: use {{cite:t}} or {{cite:p}}"
        missing = sorted(set(cited_keys(texts)) - keys)
        assert not missing, f"{path.name} cites keys that references.bib lacks: {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_summary_exercises_references(chapter):
    texts = markdown(chapter, captions=False)
    headings = [h for t in texts for h in re.findall(r"^## +(.+?)\s*$", t, re.M)]
    assert headings[-3:] == ["Summary", "Exercises", "References"], \
        f"{chapter.name}: its last sections are {headings[-3:]}"
    body = "\n".join(texts)
    refs = body[body.rindex("## References"):]
    assert refs.rstrip().endswith(BIBLIOGRAPHY) and refs.count("{bibliography}") == 1, \
        f"{chapter.name}: the References section holds exactly the bibliography directive"
    assert body.count("{bibliography}") == 1
    assert cited_keys(markdown(chapter)), f"{chapter.name} cites nothing: its reference list would be empty"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_no_control_character_in_the_prose(chapter):
    """A TeX command in a non-raw Python string loses its backslash ("\\times" is a TAB and
    "imes"); build_tests/test_math.py checks the rendered pages, this the sources."""
    for t in markdown(chapter):
        m = CONTROL.search(t)
        assert m is None, f"{chapter.name}: control character {m.group(0)!r} in {t[max(0, m.start() - 40):m.end() + 20]!r}"


def _mini_book(tmp: pathlib.Path, pages: dict[str, str]) -> subprocess.CompletedProcess:
    """Build a book of ``pages`` with the repository's bibliography settings and extension."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = config["sphinx"]["config"]
    keep = {k: v for k, v in sphinx.items() if k.startswith("bibtex_") or k == "suppress_warnings"}
    assert keep.get("bibtex_reference_style") and "bibtex.duplicate_citation" in keep["suppress_warnings"]
    (tmp / "_config.yml").write_text(yaml.safe_dump({
        "title": "bibliography test", "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "bibtex_bibfiles": [str(BIB)],
        "sphinx": {"local_extensions": {"nnbook_build": str(ROOT / "_ext")}, "config": keep}}))
    (tmp / "_toc.yml").write_text(yaml.safe_dump(
        {"format": "jb-book", "root": "index", "chapters": [{"file": p} for p in pages]}))
    (tmp / "index.md").write_text("# Index\n\nA test.\n")
    for name, text in pages.items():
        refs = "" if "{errata}" in text else "\n\n## References\n\n" + BIBLIOGRAPHY + "\n"
        (tmp / f"{name}.md").write_text(text + refs)
    jb = pathlib.Path(sys.executable).parent / "jupyter-book"
    return subprocess.run([str(jb), "build", "-W", "-n", "--keep-going", str(tmp)],
                          capture_output=True, text=True, timeout=600)


def test_a_work_cited_by_two_chapters_builds_without_warnings(tmp_path):
    keys = sorted(bib_entries())[:2]
    run = _mini_book(tmp_path, {
        "a": f"# A\n\n{{cite:t}}`{keys[0]}` and {{cite:p}}`{keys[0]},{keys[1]}`.\n\n"
             ":::{admonition} Correction: a claim\n:class: correction\n"
             f"As {{cite:t}}`{keys[1]}` show.\n:::",
        "b": f"# B\n\nAgain {{cite:t}}`{keys[0]}`.",
        "errata": "# Errata\n\n```{errata}\n```"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "WARNING" not in run.stderr + run.stdout
    for page, n in (("a", 2), ("b", 1)):
        html = (tmp_path / "_build" / "html" / f"{page}.html").read_text()
        listed = re.findall(r'<div class="citation" id="cite-([^"]+)"', html)
        assert sorted(listed) == keys[:n], (page, listed)          # each page lists its own works
        assert 'role="doc-biblioentry"' not in html and 'role="listitem"' in html   # ARIA (axe)
        links = re.findall(r'href="#cite-([^"]+)"', html)           # and links to its own list
        assert set(links) == set(keys[:n])
        assert re.search(r'<span class="bibtex-citation"[^>]*>[^<(]+\(<a ', html), "textual: Author (<a>year</a>)"
        assert "; " in html or n == 1
    # a citation in a correction box reads the same on the errata page and links to its chapter
    errata = (tmp_path / "_build" / "html" / "errata.html").read_text()
    assert re.search(rf'<span class="bibtex-citation"[^>]*>(?:[^<]|</?em>)+\(<a class="reference internal" '
                     rf'href="a.html#cite-{keys[1]}"', errata), errata[errata.find("As "):][:400]


def test_an_unknown_key_fails_the_build(tmp_path):
    run = _mini_book(tmp_path, {"a": "# A\n\n{cite:t}`nobody1900nothing`."})
    assert run.returncode != 0
    assert 'could not find bibtex key "nobody1900nothing"' in run.stderr + run.stdout
