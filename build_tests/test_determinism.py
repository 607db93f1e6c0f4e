"""Two runs of a chapter give the same numbers.

Every chapter is executed exactly twice in a test run: once live by nbval (``make test-notebooks``;
``book/conftest.py`` records every glued value in ``_build/nbval-glue/<chapter>.json``), or for the
one chapter that ``build_tests/test_lab.py`` runs in JupyterLab and the one that
``build_tests/test_launch.py`` runs as Colab would, by those tests (which record the same file),
and once by
the book build (``NNBOOK_BUILD=1``, outputs in the build's jupyter-cache). Every value glued into
the prose must be identical, character for character, between the two runs: a chapter that draws
unseeded randomness, depends on dict or set order, or on timing, fails here.
"""
from __future__ import annotations

import json
import pathlib

import pytest

from test_lab import reader_copies  # scripts/reader_copies.py: glued_values, lab_chapter

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
NBVAL = ROOT / "_build" / "nbval-glue"
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _plain(record: dict[str, dict]) -> dict[str, dict]:
    """Drop the ``application/papermill.record/`` prefix that ``display=False`` glues carry."""
    return {name: {k.removeprefix("application/papermill.record/"): v for k, v in bundle.items()}
            for name, bundle in record.items()}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_two_runs_glue_the_same_numbers(path):
    from jupyter_cache import get_cache

    if not CACHE.exists():
        pytest.fail("no build cache: run `make book` first")
    record = NBVAL / f"{path.stem}.json"
    if not record.exists():
        pytest.fail(f"no record of a live run of {path.name}: run `make test-notebooks` (and, for "
                    f"{reader_copies.lab_chapter().name}, build_tests/test_lab.py; for "
                    f"{reader_copies.launch_chapter().name}, build_tests/test_launch.py) first, "
                    "and make it pass")
    if record.stat().st_mtime < path.stat().st_mtime:
        pytest.fail(f"{record.name} is older than {path.name}: run `make test-notebooks` again")
    _, built = get_cache(str(CACHE)).merge_match_into_file(str(path))
    first = reader_copies.glued_values(built)
    assert first, f"{path.name} glues nothing"
    second = _plain(json.loads(record.read_text()))
    assert second.keys() == first.keys(), (
        f"glued names differ: only in the build {sorted(first.keys() - second.keys())[:5]}, "
        f"only in nbval's run {sorted(second.keys() - first.keys())[:5]}")
    changed = [k for k in first if first[k] != second[k]]
    assert not changed, f"values differ between runs: {changed[:10]}"
