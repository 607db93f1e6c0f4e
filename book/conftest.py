"""nbval settings for the chapters.

* A cell that prints to stderr (e.g. a warning) fails.
* Every value a chapter glues is recorded in ``_build/nbval-glue/<chapter>.json``. nbval's run is
  live (no ``NNBOOK_BUILD``) and independent of the book build's execution, so
  ``build_tests/test_determinism.py`` compares the two runs' glued values without executing any
  chapter a third time.
"""
from __future__ import annotations

import json
import pathlib

import pytest

GLUE_DIR = pathlib.Path(__file__).resolve().parents[1] / "_build" / "nbval-glue"
_glued: dict[str, dict[str, dict]] = {}
_failed: set[str] = set()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    name = pathlib.Path(str(item.fspath)).name
    try:
        result = yield
    except BaseException:
        _failed.add(name)
        raise
    outputs = getattr(item, "test_outputs", None) or []
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            _failed.add(name)
            raise AssertionError(f"cell printed to stderr (warnings are errors):\n{out.get('text', '')}")
    for out in outputs:
        meta = (out.get("metadata") or {}).get("scrapbook")
        if meta:
            _glued.setdefault(name, {})[meta["name"]] = dict(out.get("data", {}))
    return result


def pytest_sessionfinish(session):
    GLUE_DIR.mkdir(parents=True, exist_ok=True)
    for name, values in _glued.items():
        path = GLUE_DIR / f"{pathlib.Path(name).stem}.json"
        if name in _failed:  # a failed run's values are not a run to compare against
            path.unlink(missing_ok=True)
        else:
            path.write_text(json.dumps(values, sort_keys=True, indent=0))
