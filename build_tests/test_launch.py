"""A reader launches a chapter (Binder, Colab, JupyterHub): the branch the buttons open, and a run
of one chapter as Colab would run it.

The launch buttons open the ``notebooks`` branch that the workflow makes with
``scripts/reader_copies.py --launch`` (see ``_ext/nnbook_build.py``). Here the same branch is made
from this build, with nnbook to be installed from this repository's HEAD through pip's ``git+``
URL (the workflow uses ``git+https://github.com/<owner>/<repo>@<sha>``; a checkout without git
installs from the directory instead). One chapter's launch copy
then runs in a fresh Python environment that has what Colab has (NumPy, SciPy, Numba,
Matplotlib, scikit-learn at the pinned versions, and Colab's ipywidgets 7.7.1) but neither nnbook
nor MyST-NB: its first cell must install nnbook, and the chapter must run to the end, its live
experiments included, without an error or a warning.
That run is the chapter's live run of ``make test`` (nbval leaves it out); its glued values are
recorded for the determinism check, so this chapter too executes exactly twice in a test run.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib

import nbformat
import pytest

from conftest import ROOT
from test_lab import CACHE, NBVAL_GLUE, reader_copies

sys.path.insert(0, str(ROOT / "_ext"))
from nnbook_build import LAUNCH_BRANCH  # noqa: E402

RUNNER = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[3]}}).execute()
nbformat.write(nb, sys.argv[2])
"""


@pytest.fixture(scope="module")
def launch(tmp_path_factory):
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        spec = f"nnbook @ git+file://{ROOT}@{head}"
    except (OSError, subprocess.CalledProcessError):  # a checkout without git (e.g. a tarball)
        head, spec = "", f"nnbook @ file://{ROOT}"
    out = tmp_path_factory.mktemp("launch")
    written = reader_copies.write_launch_branch(CACHE, out, spec, head)
    return out, spec, head, written


def test_the_launch_branch_holds_every_chapter_and_binders_environment(launch):
    out, spec, head, written = launch
    chapters = sorted(p.name for p in (out / "book").glob("*.ipynb"))
    assert chapters == sorted(p.name for p in reader_copies.toc_notebooks())
    for name in chapters:
        nb = nbformat.read(out / "book" / name, as_version=4)
        first = nb.cells[0]
        assert first.metadata.get("nnbook_setup") and first.source.startswith(reader_copies.SETUP_MARK)
        assert json.dumps(spec) in first.source
        assert not [c for c in nb.cells[1:] if c.metadata.get("nnbook_setup")]
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "myst_nb" not in code, f"{name}: a launched chapter must not need MyST-NB"
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert not re.search(r"\{glue(:\w+)?\}", prose), f"{name}: raw glue role"
    binder = out / ".binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    needs = (binder / "requirements.txt").read_text().splitlines()
    pins = [l for l in (ROOT / "requirements.txt").read_text().splitlines()
            if l.strip() and not l.startswith("#")]
    assert set(pins) <= set(needs) and spec in needs
    assert (head or "unknown") in (out / "README.md").read_text()
    with pytest.raises(ValueError, match="pip requirement"):
        reader_copies.write_launch_branch(CACHE, out, "git+https://example.org/x")


def test_the_setup_cell_does_nothing_where_nnbook_is_installed(launch):
    out, *_ = launch
    cell = nbformat.read(out / "book" / reader_copies.launch_chapter().name, as_version=4).cells[0]
    run = subprocess.run([sys.executable, "-c", cell.source], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, PIP_NO_INDEX="1"))
    assert run.returncode == 0 and run.stdout == "", run.stdout + run.stderr


def test_the_package_declares_what_a_chapter_imports():
    """A launch copy installs nnbook with its declared dependencies: they must cover its imports."""
    declared = {re.split(r"[<>=!~ \[]", d)[0].lower()
                for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    imported = set()
    for path in (ROOT / "nnbook").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"nnbook", "myst_nb"}
    distribution = {"sklearn": "scikit-learn", "PIL": "pillow", "IPython": "ipython"}
    missing = {distribution.get(m, m).lower() for m in third_party} - declared
    assert not missing, f"nnbook imports packages pyproject.toml does not declare: {missing}"


def _clean_env(venv) -> dict[str, str]:
    """The environment of a fresh session in ``venv``: nothing of this checkout on the path."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "NNBOOK_BUILD", "NUMBA_CACHE_DIR", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


# Colab's runtime has shipped ipywidgets 7.7.1 for years (ipywidgets 8 needs its custom widget
# manager); nnbook's experiments must work with both, so the Colab-like environment has 7.7.1.
COLAB_WIDGETS = "ipywidgets==7.7.1"
WIDGET_PINS = ("ipywidgets==", "widgetsnbextension==", "jupyterlab_widgets==")


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A fresh environment with Colab's scientific stack (the book's pinned versions, but
    Colab's ipywidgets 7), without nnbook and without MyST-NB; nbclient only runs the notebook."""
    venv = tmp_path_factory.mktemp("colab") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--upgrade-deps", str(venv)], check=True,
                   capture_output=True)  # a current pip, as Colab has
    py = venv / "bin" / "python"
    deps = [COLAB_WIDGETS if d == "ipywidgets" else d
            for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    constraints = venv.parent / "constraints.txt"
    constraints.write_text("\n".join(l for l in (ROOT / "requirements.txt").read_text().splitlines()
                                     if not l.startswith(WIDGET_PINS)))
    pip = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          "-c", str(constraints), *deps, "ipykernel", "nbclient"],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    version = subprocess.run([str(py), "-c", "import ipywidgets; print(ipywidgets.__version__)"],
                             capture_output=True, text=True, cwd=venv.parent, env=_clean_env(venv))
    assert version.stdout.strip() == COLAB_WIDGETS.split("==")[1], version.stdout + version.stderr
    for module in ("nnbook", "myst_nb"):
        found = subprocess.run([str(py), "-c", f"import {module}"], capture_output=True,
                               cwd=venv.parent, env=_clean_env(venv))
        assert found.returncode != 0, f"the Colab-like environment already has {module}"
    return venv


def test_a_launched_chapter_installs_nnbook_and_runs_as_in_colab(launch, colab, tmp_path):
    out, *_ = launch
    chapter = reader_copies.launch_chapter()
    executed = tmp_path / chapter.name
    env = _clean_env(colab)
    run = subprocess.run([str(colab / "bin" / "python"), "-c", RUNNER, str(out / "book" / chapter.name),
                          str(executed), str(tmp_path)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    nb = nbformat.read(executed, as_version=4)
    setup = nb.cells[0]
    assert [o.get("text", "").strip() for o in setup.outputs] == ["nnbook installed"]
    widgets = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets, "no live experiment (ipywidgets) in the launched chapter"
    where = subprocess.run([str(colab / "bin" / "python"), "-c", "import nnbook; print(nnbook.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)
    assert str(colab) in where.stdout, "nnbook was not installed into the kernel's environment"
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count, "a cell did not run"
        for o in cell.outputs:
            assert o.output_type != "error"
            assert not (o.output_type == "stream" and o.name == "stderr"), o.text[:500]
    # no MyST-NB here: nnbook.display.glue gave the same outputs as MyST-NB's glue, the live-run record
    values = reader_copies.glued_values(nb)
    assert values, "the chapter glued nothing"
    NBVAL_GLUE.mkdir(parents=True, exist_ok=True)
    (NBVAL_GLUE / f"{chapter.stem}.json").write_text(json.dumps(values, sort_keys=True, indent=0))
