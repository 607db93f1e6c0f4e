"""Two runs of a chapter give the same numbers.

The book build executed every chapter once (its outputs are in the build's jupyter-cache). Here
each chapter runs again, from a fresh kernel, in a live session (no static frames). Every value it
glues into the prose must be identical, character for character, to the build's.
"""
from __future__ import annotations

import os
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def glued(nb) -> dict[str, dict]:
    """name -> the mime bundle of every value glued in an executed notebook."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            meta = o.get("metadata", {}).get("scrapbook")
            if meta:
                out[meta["name"]] = dict(o["data"])
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_second_run_glues_the_same_numbers(path, monkeypatch):
    from jupyter_cache import get_cache

    if not CACHE.exists():
        pytest.fail("no build cache: run `make book` first")
    _, built = get_cache(str(CACHE)).merge_match_into_file(str(path))
    first = glued(built)
    assert first, f"{path.name} glues nothing"
    monkeypatch.delenv("NNBOOK_BUILD", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    second = glued(nb)
    assert second.keys() == first.keys()
    changed = [k for k in first if first[k] != second[k]]
    assert not changed, f"values differ between runs: {changed[:10]}"
