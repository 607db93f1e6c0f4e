"""Sphinx extension used by the book build.

* Marks the build (``NNBOOK_BUILD=1``) so that ``nnbook.widgets`` precomputes static frames:
  the notebook kernels are started by the build after this runs and inherit the environment.
* Removes duplicate ``<script>`` tags. sphinx-thebe registers its inline configuration
  (``const THEBE_JS_URL = ...``) once per read phase, and Jupyter Book runs that hook twice, so a
  stock page declares the constant twice and the browser logs a SyntaxError. Keeping the first
  copy of every identical script (same file, or same inline body; Sphinx stores an
  inline script's file name as ``None`` or ``''``) fixes it without touching the theme.
"""
import os

LAUNCH_SETTING = "NNBOOK_REPOSITORY_URL"


def launch_options(theme_options: dict, environ=os.environ) -> dict:
    """The theme options with launch buttons driven by one setting, ``$NNBOOK_REPOSITORY_URL``.

    Unset (or empty), the book has no launch buttons. Set to a public repository
    (``https://github.com/<owner>/<repo>``), every chapter gets the launch buttons whose URLs
    ``_config.yml`` gives (Binder; JupyterHub or Colab if their URLs are set) for that repository
    at ``$NNBOOK_REPOSITORY_BRANCH`` (default ``main``)."""
    opts = dict(theme_options)
    url = environ.get(LAUNCH_SETTING, "").strip().rstrip("/")
    if not url:
        opts["launch_buttons"] = {}
        opts.pop("repository_url", None)
        return opts
    opts["repository_url"] = url
    opts["repository_branch"] = environ.get("NNBOOK_REPOSITORY_BRANCH", "").strip() or "main"
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


def setup(app):
    os.environ["NNBOOK_BUILD"] = "1"
    app.connect("config-inited", _configure_launch, priority=400)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
