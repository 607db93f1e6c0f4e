"""Repository conventions: clean notebooks, every chapter in the table of contents."""
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(nb):
    cells = json.loads(nb.read_text())["cells"]
    for c in cells:
        if c["cell_type"] == "code":
            assert c.get("outputs") == [] and c.get("execution_count") is None, f"{nb.name}: clear outputs"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_every_chapter_is_in_the_toc_and_has_an_assert_cell(nb):
    assert f"book/{nb.stem}" in (ROOT / "_toc.yml").read_text()
    cells = json.loads(nb.read_text())["cells"]
    tags = [t for c in cells for t in c.get("metadata", {}).get("tags", [])]
    assert "remove-cell" in tags, "each chapter checks its worked numbers in a remove-cell"
    assert any("glue(" in "".join(c["source"]) for c in cells), "numbers reach the prose by glue"
