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


CODE_WIDTH = 84  # characters a code cell's box shows per line in the built HTML


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_visible_code_lines_fit_the_code_box(nb):
    """No sideways scrolling: every code line a reader can see (hide-input cells open on
    click) is at most CODE_WIDTH characters."""
    long = []
    for c in json.loads(nb.read_text())["cells"]:
        tags = c.get("metadata", {}).get("tags", [])
        if c["cell_type"] != "code" or "remove-cell" in tags or "remove-input" in tags:
            continue
        for i, line in enumerate("".join(c["source"]).split("\n"), start=1):
            if len(line) > CODE_WIDTH:
                long.append(f"{nb.name}, cell {c.get('id')}, line {i} "
                            f"({len(line)} characters): {line.strip()[:60]}")
    assert not long, (f"code lines longer than {CODE_WIDTH} characters (rewrap them):\n"
                      + "\n".join(long))
