"""The reader's copy of every chapter, for JupyterLab: the book's prose with the numbers in it.

    python scripts/reader_copies.py [--cache _build/.jupyter_cache] [--out _build/lab]

JupyterLab renders MyST with jupyterlab-myst, which knows exercises, solutions, admonitions and
math but not MyST-NB's ``glue`` roles. The book build has already executed every chapter (its
outputs are in the build's jupyter-cache), so the values are known: each reader's copy is the
chapter with

* every ``{glue:text}`name:fmt``` role and ``{glue:md}`` directive replaced by the value the build
  glued, formatted exactly as the HTML book formats it (MyST-NB's own ``format_plain_text``);
* sphinx-exercise's gated solutions (``solution-start`` ... ``solution-end``, which span several
  cells) turned into a bold "Solution" heading, the end marker dropped, since a directive cannot
  span notebook cells;
* every figure's caption (kept in the cell's metadata, which JupyterLab does not show) added
  below it as "**Fig. 1.2.** ...", and ``{numref}`` roles to figures replaced by the number the
  HTML book gives them (read from the built page, when there is one);
* every citation (``{cite:t}`key```, ``{cite:p}`key```) replaced by the text the HTML book shows
  ("Cybenko (1989)", "(Hornik *et al.*, 1989)"), and the chapter's ``{bibliography}`` directive by
  its reference list as the HTML book formats it (sphinxcontrib-bibtex's), one bullet per work;
  jupyterlab-myst renders neither role nor directive;
* exercises and labelled equations numbered as the HTML book numbers them ("Exercise 3.1",
  "(1.4)": an explicit ``:enumerator:``, since jupyterlab-myst counts 1, 2, ... per notebook),
  and unlabelled display math left unnumbered, as in the HTML (``$$`` blocks become ``{math}``
  directives for that);
* the check cells (``remove-cell``) and the hidden-input cells (``hide-input``) collapsed, and a
  check cell marked by a first comment line, so that they stay out of the reader's way;
* no outputs: the reader runs the chapter, and its experiments are live ipywidgets.

Nothing is executed here. The source notebooks stay the one source of the book.

The launch buttons (Binder, JupyterHub, Colab) open the same reader's copies, published on a
branch of their own (``--launch DIR --install SPEC``, see :func:`write_launch_branch`): there each
chapter begins with a setup cell that pip-installs ``nnbook`` from SPEC (the repository at the
built commit) when, and only when, the kernel lacks it.
"""
from __future__ import annotations

import argparse
import copy
import html
import json
import pathlib
import re

import nbformat
import yaml
from myst_nb.core.variables import format_plain_text

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECK_MARK = "# Check cell (hidden in the book): asserts the numbers in the text."
GLUE_ROLE = re.compile(r"\{glue(?::(text|md|))?\}`([^`<>]+?)(?::([^`:]*))?`")
GLUE_DIRECTIVE = re.compile(r"^```\{glue(?::(md|text|))?\}\s+(\S+)[^\n]*\n(?::[^\n]*\n)*```[ \t]*$", re.M)
NUMREF = re.compile(r"\{numref\}`(?:([^`<]*?)\s*<)?([^`<>]+?)>?`")
FIGURE_NUMBER = re.compile(r'<figure[^>]*\bid="([^"]+)".*?caption-number">([^<]+?)\s*<', re.S)
EXERCISE_NUMBER = re.compile(r'<div class="exercise[^"]*" id="([^"]+)">\s*<p class="admonition-title">'
                             r'<span class="caption-number">Exercise ([^<]+?)\s*</span>')
EQUATION_NUMBER = re.compile(r'id="equation-([^"]+)">\s*<span class="eqno">\(([^)<]+)\)')
DISPLAY_MATH = re.compile(r"^([ \t]*)\$\$(.*?)\$\$[ \t]*(?:\((\S+)\))?[ \t]*$", re.M | re.S)
EXERCISE_OPTIONS = re.compile(r"^([ \t]*:::\{exercise\}[^\n]*\n)((?:[ \t]*:[\w-]+:[^\n]*\n)*)", re.M)
SOLUTION_START = re.compile(r"^:::\{solution-start\}\s*(\S+)[^\n]*\n(?::[^\n]*\n)*:::[ \t]*$", re.M)
SOLUTION_END = re.compile(r"^:::\{solution-end\}[^\n]*\n:::[ \t]*$", re.M)
CITE_ROLE = re.compile(r"\{cite(?::(\w+))?\}`([^`]+)`")
BIBLIOGRAPHY = re.compile(r"^(`{3,}|:{3,})\{bibliography\}[^\n]*\n(?:[ \t]*:[^\n]*\n)*\1[ \t]*$", re.M)
CITATION_SPAN = re.compile(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', re.S)
CITATION_LIST = re.compile(r'<div role="list" class="citation-list">')
CITATION_ENTRY = re.compile(r'<div class="citation" id="cite-([^"]+)"[^>]*>.*?<p>(.*?)</p>\s*</div>', re.S)
CITE_KINDS = {"t": "t", "p": "p", "": "p"}   # the roles the book uses ({cite} is {cite:p})


def toc_files(root: pathlib.Path = ROOT) -> list[str]:
    """Every file ``_toc.yml`` lists (``book/01-feedforward``, no suffix), in reading order."""
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files.insert(0, toc["root"])
    walk({k: v for k, v in toc.items() if k != "root"})
    return files


def toc_notebooks(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """Every notebook ``_toc.yml`` lists, in reading order."""
    return [root / f"{f}.ipynb" for f in toc_files(root) if (root / f"{f}.ipynb").exists()]


def lab_chapter(root: pathlib.Path = ROOT) -> pathlib.Path:
    """The chapter that ``build_tests/test_lab.py`` runs live in JupyterLab (the first in the toc).

    That run is the chapter's live run of the test pipeline: ``make test-notebooks`` leaves it out
    of nbval, so that no chapter executes more than twice in ``make test``.
    """
    return toc_notebooks(root)[0]


LAUNCH_CHAPTER = "book/09-rnn"  # short, and it compiles Numba kernels in the fresh install


def launch_chapter(root: pathlib.Path = ROOT) -> pathlib.Path:
    """The chapter that ``build_tests/test_launch.py`` runs as Colab would (its launch copy, in a
    fresh environment without nnbook or MyST-NB). Like the lab chapter, nbval leaves it out, and
    that run is its live run of ``make test``."""
    path = root / f"{LAUNCH_CHAPTER}.ipynb"
    if path not in toc_notebooks(root):
        raise FileNotFoundError(f"LAUNCH_CHAPTER {LAUNCH_CHAPTER} is not a notebook in _toc.yml")
    return path


def glued_values(executed) -> dict[str, dict]:
    """name -> mime bundle of every value glued in an executed notebook."""
    out = {}
    for cell in executed.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            meta = o.get("metadata", {}).get("scrapbook")
            if meta:  # display=False glues store "application/papermill.record/<mime>"
                out[meta["name"]] = {k.removeprefix("application/papermill.record/"): v
                                     for k, v in o["data"].items()}
    return out


def fill_glue(text: str, values: dict[str, dict], where: str = "") -> str:
    """Replace every glue role in markdown ``text`` by its value, as the HTML book shows it."""

    def value(m: re.Match) -> str:
        kind, name = m.group(1) or "", m.group(2).strip()
        fmt = m.group(3) or "" if m.re is GLUE_ROLE else ""
        if name not in values:
            raise KeyError(f"{where}: glue role for {name!r}, which the build did not glue")
        data = values[name]
        if kind == "md":  # a block of its own (a table must not continue a paragraph)
            md = data.get("text/markdown", data.get("text/plain", ""))
            return f"\n{md.strip()}\n" if m.re is GLUE_DIRECTIVE else md
        try:
            return format_plain_text(data["text/plain"], fmt)
        except ValueError as err:  # the HTML build warns (and -W fails) on the same value
            raise ValueError(f"{where}: glued {name!r} = {data['text/plain']!r} does not "
                             f"format as {fmt!r}: {err}") from err

    return GLUE_ROLE.sub(value, GLUE_DIRECTIVE.sub(value, text))


def html_to_markdown(fragment: str, links: bool = True) -> str:
    """A fragment of the built HTML as Markdown: ``<em>`` -> ``*...*``, external links kept (when
    ``links``), every other tag dropped, entities decoded, whitespace collapsed."""
    text = re.sub(r"<em>(.*?)</em>", r"*\1*", fragment, flags=re.S)
    if links:
        text = re.sub(r'<a class="reference external" href="([^"]+)"[^>]*>(.*?)</a>',
                      lambda m: f"[{m.group(2)}]({html.unescape(m.group(1))})", text, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return " ".join(text.split())


def page_citations(page: pathlib.Path) -> dict:
    """What the built HTML page shows for its citations (empty where the page is not built):
    ``{"cites": {("t", ("key",)): "Cybenko (1989)", ("p", ("a", "b")): "(A, 1989, B, 1990)"},
    "bibliographies": [[("key", "Formatted entry."), ...], ...]}`` (one list per reference list,
    in page order)."""
    page_html = page.read_text() if page.exists() else ""
    cites = {}
    for m in CITATION_SPAN.finditer(page_html):
        keys = tuple(re.findall(r'href="#cite-([^"]+)"', m.group(1)))
        text = html_to_markdown(m.group(1), links=False)
        cites[("p" if text.startswith("(") else "t", keys)] = text
    starts = [m.start() for m in CITATION_LIST.finditer(page_html)] + [len(page_html)]
    lists = [[(key, html_to_markdown(body)) for key, body in
              CITATION_ENTRY.findall(page_html[a:b])] for a, b in zip(starts, starts[1:])]
    return {"cites": cites, "bibliographies": lists}


def fill_citations(text: str, citations: dict, where: str = "", counter: list | None = None) -> str:
    """Every ``{cite:t}``/``{cite:p}`` role -> the text the HTML book shows for it, and every
    ``{bibliography}`` directive -> that page's reference list as a bulleted list (``counter``
    counts the directives met so far in the chapter, across cells)."""
    counter = counter if counter is not None else [0]

    def cite(m: re.Match) -> str:
        kind = m.group(1) or ""
        if kind not in CITE_KINDS:
            raise ValueError(f"{where}: {{cite:{kind}}} is not a citation role of the book "
                             "(use {cite:t} or {cite:p})")
        keys = tuple(k.strip() for k in m.group(2).split(","))
        found = citations.get("cites", {}).get((CITE_KINDS[kind], keys))
        if found is None:
            raise KeyError(f"{where}: {m.group(0)} is not on the built page: run `make book`")
        return found

    def bibliography(m: re.Match) -> str:
        lists = citations.get("bibliographies", [])
        k = counter[0]
        counter[0] += 1
        if k >= len(lists) or not lists[k]:
            raise KeyError(f"{where}: reference list {k + 1} is not on the built page (or empty)")
        return "\n".join(f"- {entry}" for _, entry in lists[k])

    return CITE_ROLE.sub(cite, BIBLIOGRAPHY.sub(bibliography, text))


def open_solutions(text: str, titles: dict[str, str]) -> str:
    """Gated solutions (which span cells) -> a bold heading; the end marker goes."""
    text = SOLUTION_START.sub(
        lambda m: f"**Solution to {titles.get(m.group(1), 'the exercise')}**", text)
    return SOLUTION_END.sub("", text).strip()


def exercise_titles(nb, numbers: dict[str, str] | None = None) -> dict[str, str]:
    """label -> "Exercise 3.1" for the exercises of a notebook, numbered as in the HTML book
    (``numbers``, from :func:`page_numbers`), or 1, 2, ... in order where the page is not built."""
    labels = [label for cell in nb.cells if cell.cell_type == "markdown"
              for m in EXERCISE_OPTIONS.finditer(cell.source)
              for label in [exercise_label(m.group(2))] if label]
    numbers = numbers or {}
    return {label: f"Exercise {numbers.get(label, k)}" for k, label in enumerate(labels, start=1)}


def page_numbers(page: pathlib.Path) -> dict[str, dict[str, str]]:
    """What the built HTML page numbers, by label (empty where the page is not built):
    ``{"figures": {"fig-x": "Fig. 1.2"}, "exercises": {"ex-x": "3.1"}, "equations": {"eq-x": "1.4"}}``."""
    html = page.read_text() if page.exists() else ""
    return {"figures": dict(FIGURE_NUMBER.findall(html)),
            "exercises": dict(EXERCISE_NUMBER.findall(html)),
            "equations": dict(EQUATION_NUMBER.findall(html))}


def exercise_label(options: str) -> str | None:
    """The ``:label:`` among an exercise directive's option lines (group 2 of
    ``EXERCISE_OPTIONS``), or None."""
    m = re.search(r":label:\s*(\S+)", options)
    return m.group(1) if m else None


def number_exercises(text: str, numbers: dict[str, str]) -> str:
    """Give every exercise the HTML book's number (``:enumerator: 3.1``): jupyterlab-myst would
    count 1, 2, ... per notebook."""

    def add(m: re.Match) -> str:
        label = exercise_label(m.group(2))
        if label not in numbers or ":enumerator:" in m.group(2):
            return m.group(0)
        indent = re.match(r"[ \t]*", m.group(1)).group(0)
        return f"{m.group(1)}{m.group(2)}{indent}:enumerator: {numbers[label]}\n"

    return EXERCISE_OPTIONS.sub(add, text)


def number_equations(text: str, numbers: dict[str, str], where: str = "") -> str:
    """Display math as the HTML book numbers it: ``$$ ... $$ (label)`` becomes a ``{math}``
    directive with the label and the book's number (``:enumerator: 1.4``), and unlabelled ``$$``
    math one with ``:enumerated: false`` (the HTML leaves it unnumbered; jupyterlab-myst would
    number every display equation)."""

    def convert(m: re.Match) -> str:
        indent, body, label = m.group(1), m.group(2).strip("\n"), m.group(3)
        options = [f":label: {label}"] if label else [":enumerated: false"]
        if label and label in numbers:
            options.append(f":enumerator: {numbers[label]}")
        lines = ["```{math}", *options] + [l[len(indent):] if l.startswith(indent) else l
                                           for l in body.strip().splitlines()] + ["```"]
        return "\n".join(indent + l if l else l for l in lines)

    out = DISPLAY_MATH.sub(convert, text)
    if "$$" in out:
        raise ValueError(f"{where}: display math ($$) the reader's copy could not convert: "
                         + out[out.index("$$") - 60:out.index("$$") + 60])
    return out


def fill_numrefs(text: str, numbers: dict[str, str]) -> str:
    """``{numref}`fig-x``` -> "Fig. 1.2" (and ``{numref}`Figure %s <fig-x>``` -> "Figure 1.2")."""

    def number(m: re.Match) -> str:
        template, label = m.group(1), m.group(2).strip()
        if label not in numbers:
            return m.group(0)
        if template:
            return template.replace("%s", numbers[label].split()[-1])
        return numbers[label]

    return NUMREF.sub(number, text)


SETUP_MARK = "# Setup: installs nnbook where this kernel lacks it (Google Colab, a JupyterHub)."


def setup_cell(spec: str):
    """The first cell of a launch copy: ``pip install SPEC`` if ``nnbook`` cannot be imported.

    Where nnbook is installed (Binder, ``make lab``) it does nothing. Elsewhere it installs nnbook
    and the packages it needs that are missing (a kernel that has NumPy, SciPy, Numba, Matplotlib,
    ipywidgets and scikit-learn, as Colab has, keeps its own versions), then makes the new package
    importable in the running kernel: no restart.
    """
    return nbformat.v4.new_code_cell(
        f"{SETUP_MARK}\n"
        "import importlib, importlib.util, subprocess, sys\n"
        "if importlib.util.find_spec(\"nnbook\") is None:\n"
        f"    pip = subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", {json.dumps(spec)}],\n"
        "                         capture_output=True, text=True)\n"
        "    if pip.returncode:\n"
        "        raise RuntimeError(\"installing nnbook failed:\\n\" + pip.stdout + pip.stderr)\n"
        "    importlib.invalidate_caches()\n"
        "    print(\"nnbook installed\")",
        metadata={"nnbook_setup": True})


def reader_copy(source, executed, where: str = "", numbers: dict[str, dict] | None = None,
                install: str | None = None, citations: dict | None = None):
    """The reader's copy of one chapter (a new notebook; ``source`` is left alone).

    ``numbers``: the HTML book's numbers of figures, exercises and equations (see
    :func:`page_numbers`); ``install``, a pip requirement for nnbook, puts :func:`setup_cell`
    first (launch copies); ``citations``: what the HTML page shows for the chapter's citations
    and reference list (see :func:`page_citations`).
    """
    values = glued_values(executed)
    citations = citations or {}
    bibliographies = [0]
    numbers = numbers or {}
    figures = numbers.get("figures", {})
    nb = copy.deepcopy(source)
    titles = exercise_titles(nb, numbers.get("exercises"))
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type == "markdown":
            text = fill_numrefs(fill_glue(cell.source, values, where), figures)
            text = fill_citations(text, citations, where, bibliographies)
            text = number_exercises(text, numbers.get("exercises", {}))
            text = number_equations(text, numbers.get("equations", {}), where)
            cell.source = open_solutions(text, titles)
            continue
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        if figure.get("caption"):
            label = figures.get(figure.get("name", ""), "Figure")
            caption = fill_citations(fill_numrefs(figure["caption"], figures), citations, where)
            cells.append(nbformat.v4.new_markdown_cell(
                f"**{label}.** {caption}",
                metadata={"nnbook_caption": True}))
    nb.cells = cells
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            tags = cell.metadata.get("tags", [])
            if "remove-cell" in tags or "hide-input" in tags:
                cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
            if "remove-cell" in tags and not cell.source.startswith(CHECK_MARK):
                cell.source = CHECK_MARK + "\n" + cell.source
    if install:
        nb.cells.insert(0, setup_cell(install))
    nb.metadata["nnbook_reader_copy"] = True
    return nb


def write_reader_copies(cache: pathlib.Path, out: pathlib.Path,
                        notebooks: list[pathlib.Path] | None = None,
                        site: pathlib.Path = ROOT / "_build" / "html",
                        install: str | None = None) -> list[pathlib.Path]:
    """Write ``out/book/<chapter>.ipynb`` for every notebook, from the build's executed copies.

    ``site`` is the built HTML book, read only for the numbers of figures, exercises and
    equations and for the text of citations and reference lists; ``install`` as in
    :func:`reader_copy`.
    """
    from jupyter_cache import get_cache

    if not cache.exists():
        raise FileNotFoundError(f"no book build cache at {cache}: run `make book` first")
    db = get_cache(str(cache))
    written = []
    for path in notebooks if notebooks is not None else toc_notebooks():
        source = nbformat.read(path, as_version=4)
        try:
            _, executed = db.merge_match_into_file(str(path))
        except KeyError as err:
            raise FileNotFoundError(f"{path.name} is not in the build cache (or changed since "
                                    "the last build): run `make book` first") from err
        target = out / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        page = site / path.parent.name / f"{path.stem}.html"
        nbformat.write(reader_copy(source, executed, path.name, page_numbers(page), install,
                                   page_citations(page)), target)
        written.append(target)
    return written


LAUNCH_README = """# nnbook: the chapters to launch

This branch is generated; do not edit it. The book's workflow rebuilds it from every commit of the
default branch (this one: {commit}). It holds the reader's copy of every chapter (the prose with
its numbers filled in, no outputs) for the book's launch buttons:

* **Binder** builds its image from `.binder/` here: the book's pinned requirements and nnbook
  at that commit.
* **Colab** and **JupyterHub** open a chapter in a kernel that may lack nnbook: each chapter's
  first cell then runs `pip install "{spec}"`, and does nothing where nnbook is installed.
"""


def write_launch_branch(cache: pathlib.Path, out: pathlib.Path, install: str,
                        commit: str = "", site: pathlib.Path = ROOT / "_build" / "html"
                        ) -> list[pathlib.Path]:
    """The contents of the branch the launch buttons open (see ``_ext/nnbook_build.py``).

    ``out/book/*.ipynb``: the reader's copies, each starting with :func:`setup_cell` for
    ``install`` (a pip requirement for nnbook, e.g. ``nnbook @ git+https://github.com/o/r@SHA``);
    ``out/.binder/``: Python 3.11, the book's pinned requirements and ``install``; ``README.md``.
    """
    if not re.fullmatch(r"nnbook\s*@\s*\S+", install):
        raise ValueError(f"install must be a pip requirement 'nnbook @ <url>', got {install!r}")
    written = write_reader_copies(cache, out, site=site, install=install)
    binder = out / ".binder"
    binder.mkdir(parents=True, exist_ok=True)
    (binder / "runtime.txt").write_text("python-3.11\n")
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    (binder / "requirements.txt").write_text(
        "# The book's pinned requirements (requirements.txt of the built commit), and nnbook.\n"
        + "\n".join(pins + [install]) + "\n")
    (out / "README.md").write_text(LAUNCH_README.format(commit=commit or "unknown", spec=install))
    return written + [binder / "runtime.txt", binder / "requirements.txt", out / "README.md"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=pathlib.Path, default=ROOT / "_build" / ".jupyter_cache")
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "_build" / "lab")
    ap.add_argument("--live-chapters", action="store_true",
                    help="print the paths of the chapters the JupyterLab and launch tests run "
                         "(nbval leaves them out), and exit")
    ap.add_argument("--launch", type=pathlib.Path, metavar="DIR",
                    help="write the launch branch (copies with a setup cell, .binder/) to DIR")
    ap.add_argument("--install", help="with --launch: pip requirement for nnbook, "
                                      "e.g. 'nnbook @ git+https://github.com/<o>/<r>@<sha>'")
    ap.add_argument("--commit", default="", help="with --launch: the commit, for the README")
    args = ap.parse_args()
    if args.live_chapters:
        print(lab_chapter().relative_to(ROOT), launch_chapter().relative_to(ROOT))
        return
    if args.launch:
        if not args.install:
            ap.error("--launch needs --install")
        written = write_launch_branch(args.cache, args.launch, args.install, args.commit)
    else:
        written = write_reader_copies(args.cache, args.out)
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
