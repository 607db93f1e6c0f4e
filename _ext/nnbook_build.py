"""Sphinx extension used by the book build.

* Marks the build (``NNBOOK_BUILD=1``) so that ``nnbook.display.widgets`` precomputes static frames:
  the notebook kernels are started by the build after this runs and inherit the environment.
* Removes duplicate ``<script>`` tags. sphinx-thebe registers its inline configuration
  (``const THEBE_JS_URL = ...``) once per read phase, and Jupyter Book runs that hook twice, so a
  stock page declares the constant twice and the browser logs a SyntaxError. Keeping the first
  copy of every identical script (same file, or same inline body; Sphinx stores an
  inline script's file name as ``None`` or ``''``) fixes it without touching the theme.
* Builds the errata page: every ``correction`` admonition of the book is collected while the
  chapters are read, and the ``{errata}`` directive (``book/errata.md``) lists them all, each with
  its chapter and a link back (see the errata section below).
* Gives the entries of reference lists the ARIA role ``listitem`` (see ``_reference_list_roles``).
* Registers the bibliography's styles (see the bibliography section below): citations read
  "Kingma and Ba (2015)" and "(Kingma and Ba, 2015)", and each chapter's reference list is sorted
  by author and year, with every entry anchored as ``cite-<key>``.
* Writes the frames of the static experiments to image files of their own (``nnbook_frames.py``).
"""
import os

LAUNCH_SETTING = "NNBOOK_REPOSITORY_URL"
# The branch the launch buttons open: the reader's copies of the chapters (numbers filled in, a
# first cell that installs nnbook where it is missing) and Binder's .binder/, which the workflow
# (.github/workflows/book.yml) regenerates from every commit of the default branch with
# `scripts/reader_copies.py --launch`. The source notebooks would show raw glue roles there.
LAUNCH_BRANCH = "notebooks"


def launch_options(theme_options: dict, environ=os.environ) -> dict:
    """The theme options with launch buttons driven by one setting, ``$NNBOOK_REPOSITORY_URL``.

    Unset (or empty), the book has no launch buttons. Set to a public repository
    (``https://github.com/<owner>/<repo>``), every chapter gets the launch buttons whose URLs
    ``_config.yml`` gives (Binder and Colab; JupyterHub if its URL is set), opening the chapter's
    launch copy on the repository's ``LAUNCH_BRANCH``."""
    opts = dict(theme_options)
    url = environ.get(LAUNCH_SETTING, "").strip().rstrip("/")
    if not url:
        opts["launch_buttons"] = {}
        opts.pop("repository_url", None)
        return opts
    opts["repository_url"] = url
    opts["repository_branch"] = LAUNCH_BRANCH
    opts["path_to_docs"] = ""
    return opts


def _configure_launch(app, config):
    config.html_theme_options = launch_options(config.html_theme_options)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (getattr(js, "filename", js) or "", tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def _reference_list_roles(app, pagename, templatename, context, doctree):
    """A reference list is ``<div role="list">`` of entries with ``role="doc-biblioentry"``
    (docutils), a role ARIA 1.3 deprecates: axe then sees the entries' links as children of the
    list, which a list may not have (aria-required-children, critical). Each entry is a list
    item, and says so."""
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app):
    os.environ["NNBOOK_BUILD"] = "1"
    app.connect("config-inited", _configure_launch, priority=400)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("html-page-context", _reference_list_roles, priority=900)
    _setup_errata(app)
    _register_bibliography_styles()
    import sys  # experiment frames as files (light pages): _ext/nnbook_frames.py
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from nnbook_frames import setup as _setup_frames
    _setup_frames(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# --------------------------------------------------------------------------- errata
# Every correction in the book is a ``:::{admonition} Correction: ...`` with ``:class: correction``.
# The collector below gives each one an anchor and records it (chapter, title, body) while the
# chapters are read; the ``{errata}`` directive on ``book/errata.md`` leaves a placeholder that is
# filled, once all chapters are known, with one entry per correction: its title, a link back to
# the box in its chapter, and a copy of its text. Nothing is typed twice.
from docutils import nodes  # noqa: E402
from sphinx.util.docutils import SphinxDirective  # noqa: E402

CORRECTION_CLASS = "correction"
ERRATUM_CLASS = "nnbook-erratum"


class errata_placeholder(nodes.General, nodes.Element):
    """Where the list of corrections goes (replaced when the doctree is resolved)."""


class ErrataDirective(SphinxDirective):
    """``{errata}``: the list of every correction admonition of the book, in reading order."""
    has_content = False

    def run(self):
        if not hasattr(self.env, "nnbook_errata_docs"):
            self.env.nnbook_errata_docs = set()
        self.env.nnbook_errata_docs.add(self.env.docname)
        return [errata_placeholder()]


def _corrections_of(doctree):
    return [n for n in doctree.findall(nodes.admonition) if CORRECTION_CLASS in n["classes"]]


def _collect_corrections(app, doctree):
    env = app.env
    if not hasattr(env, "nnbook_corrections"):
        env.nnbook_corrections = {}
    if any(True for _ in doctree.findall(errata_placeholder)):
        # the copied corrections carry math that only arrives when the page is resolved; tell the
        # math domain now, so that MathJax is loaded on the errata page
        env.get_domain("math").data["has_equations"][env.docname] = True
    found = []
    for k, node in enumerate(_corrections_of(doctree), start=1):
        if not node["ids"]:
            node["ids"].append(f"correction-{k}")
        title = node.next_node(nodes.title)
        text = title.astext() if title is not None else "Correction"
        body = [c.deepcopy() for c in node.children if not isinstance(c, nodes.title)]
        kids = [c.deepcopy() for c in title.children] if title is not None else []
        found.append({"id": node["ids"][0], "title": text, "title_nodes": kids, "body": body})
    if found:
        env.nnbook_corrections[env.docname] = found
    else:
        env.nnbook_corrections.pop(env.docname, None)


def _purge_corrections(app, env, docname):
    getattr(env, "nnbook_corrections", {}).pop(docname, None)
    getattr(env, "nnbook_errata_docs", set()).discard(docname)


def _errata_outdated(app, env, added, changed, removed):
    """Rewrite the errata page whenever any chapter is added, changed or removed."""
    if added or changed or removed:
        return sorted(getattr(env, "nnbook_errata_docs", set()))
    return []


def _merge_corrections(app, env, docnames, other):
    if not hasattr(env, "nnbook_corrections"):
        env.nnbook_corrections = {}
    if not hasattr(env, "nnbook_errata_docs"):
        env.nnbook_errata_docs = set()
    for doc in docnames:
        if doc in getattr(other, "nnbook_corrections", {}):
            env.nnbook_corrections[doc] = other.nnbook_corrections[doc]
        if doc in getattr(other, "nnbook_errata_docs", set()):
            env.nnbook_errata_docs.add(doc)


def _reading_order(env):
    """Documents in table-of-contents order, starting at the root document."""
    order, seen = [], set()

    def walk(doc):
        if doc in seen:
            return
        seen.add(doc)
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return order + sorted(d for d in env.found_docs if d not in seen)


def _plain(body, app=None, fromdocname=None):
    """A copy of a correction's text for the errata page: cross-references become plain text
    (they were written relative to their chapter), except citations, which are resolved here as
    on the chapter's page ("Cybenko (1989)", linking to the chapter's reference list); no element
    keeps an id."""
    out = []
    for node in body:
        node = node.deepcopy()
        for ref in list(node.findall(lambda n: n.tagname == "pending_xref")):
            if app is not None and ref.get("refdomain") == "cite":
                resolved = app.env.get_domain("cite").resolve_xref(
                    app.env, fromdocname, app.builder, ref["reftype"], ref["reftarget"], ref,
                    nodes.inline("", ref.astext()))
                ref.replace_self(resolved)
                continue
            ref.replace_self(nodes.inline("", ref.astext()))
        for sub in node.findall(nodes.Element):
            sub["ids"] = []
        out.append(node)
    return out


def _fill_errata(app, doctree, fromdocname):
    placeholders = list(doctree.findall(errata_placeholder))
    if not placeholders:
        return
    env = app.env
    corrections = getattr(env, "nnbook_corrections", {})
    content = []
    for doc in _reading_order(env):
        if doc not in corrections:
            continue
        chapter = env.titles[doc].astext() if doc in env.titles else doc
        section = nodes.section(ids=[f"errata-{doc.replace('/', '-')}"])
        section += nodes.title("", chapter)
        items = nodes.bullet_list()
        for c in corrections[doc]:
            uri = app.builder.get_relative_uri(fromdocname, doc) + "#" + c["id"]
            head = nodes.paragraph()
            # the title's own nodes, so that math in a title is typeset, not printed as TeX
            kids = _plain(c.get("title_nodes", []), app, fromdocname) or [nodes.Text(c["title"])]
            first = kids[0].astext() if isinstance(kids[0], nodes.Text) else ""
            if first.lower().startswith("correction:"):
                rest = first.split(":", 1)[1].lstrip()
                kids[0] = nodes.Text(rest[:1].upper() + rest[1:])
                if not rest:
                    kids.pop(0)
            head += nodes.strong("", "", *kids)
            head += nodes.Text(" (")
            head += nodes.reference("", f"in {chapter}", refuri=uri, internal=True)
            head += nodes.Text(")")
            item = nodes.list_item("", head, *_plain(c["body"], app, fromdocname),
                                   classes=[ERRATUM_CLASS])
            items += item
        section += items
        content.append(section)
    if not content:
        content = [nodes.paragraph("", "The book has no corrections yet.")]
    for ph in placeholders:
        ph.replace_self(content)


def _setup_errata(app):
    app.add_node(errata_placeholder)
    app.add_directive("errata", ErrataDirective)
    app.connect("doctree-read", _collect_corrections)
    app.connect("env-purge-doc", _purge_corrections)
    app.connect("env-merge-info", _merge_corrections)
    app.connect("env-get-outdated", _errata_outdated)
    app.connect("doctree-resolved", _fill_errata)


# --------------------------------------------------------------------------- bibliography
# sphinxcontrib-bibtex (shipped with Jupyter Book 1) formats citations and reference lists;
# ``_config.yml`` selects the two styles registered here. "author_year_round" is the built-in
# author-year style with round brackets, as a textbook prints it. "nnbook" is pybtex's
# unsorted-BibTeX style sorted by author, year and title, whose labels are the entries' keys:
# the HTML hides labels (``_static/nnbook.css``: the list is read by author and year), and keys
# are unique where numbers or "alpha" labels would repeat across the chapters' separate lists,
# which sphinxcontrib-bibtex reports as duplicate labels.
import dataclasses  # noqa: E402

REFERENCE_STYLE = "author_year_round"
ENTRY_STYLE = "nnbook"
KEY_LABELS = "nnbook_key"
SORTING = "nnbook_author_year_title"


def _register_bibliography_styles():
    import pybtex.plugin
    import sphinxcontrib.bibtex.plugin
    from pybtex.style.formatting.unsrt import Style as UnsrtStyle
    from pybtex.style.labels import BaseLabelStyle
    from pybtex.style.sorting.author_year_title import SortingStyle
    from sphinxcontrib.bibtex.style.referencing import BracketStyle
    from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

    def round_brackets():
        return BracketStyle(left="(", right=")")

    def round_brackets_semicolons():   # (Cybenko, 1989; Hornik et al., 1989)
        return BracketStyle(left="(", right=")", sep="; ")

    @dataclasses.dataclass
    class RoundAuthorYear(AuthorYearReferenceStyle):
        bracket_parenthetical: BracketStyle = dataclasses.field(default_factory=round_brackets_semicolons)
        bracket_textual: BracketStyle = dataclasses.field(default_factory=round_brackets_semicolons)
        bracket_author: BracketStyle = dataclasses.field(default_factory=round_brackets)
        bracket_label: BracketStyle = dataclasses.field(default_factory=round_brackets)
        bracket_year: BracketStyle = dataclasses.field(default_factory=round_brackets)

    class KeyLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                yield entry.key

    class AuthorYearTitle(SortingStyle):
        # a corporate author is braced in BibTeX ({OEIS Foundation Inc.}); sort it by its letters
        def person_key(self, person):
            return super().person_key(person).replace("{", "").replace("}", "")

    class EntryStyle(UnsrtStyle):
        default_sorting_style = SORTING
        default_label_style = KEY_LABELS

    pybtex.plugin.register_plugin("pybtex.style.labels", KEY_LABELS, KeyLabels, force=True)
    pybtex.plugin.register_plugin("pybtex.style.sorting", SORTING, AuthorYearTitle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", ENTRY_STYLE, EntryStyle, force=True)
    sphinxcontrib.bibtex.plugin.register_plugin(
        "sphinxcontrib.bibtex.style.referencing", REFERENCE_STYLE, RoundAuthorYear, force=True)
