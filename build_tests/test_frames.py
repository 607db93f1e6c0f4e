"""_ext/nnbook_frames.py: an experiment's frames leave the HTML for files of their own."""
from __future__ import annotations

import base64
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
from nnbook_frames import externalize_experiments  # noqa: E402


def test_frames_become_shared_files_and_the_img_waits(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nnbook.display import widgets
    from nnbook.display.widgets import Slider

    def draw(k):
        fig, ax = plt.subplots(figsize=(1, 1))
        ax.plot([0, 1], [0, k % 2])  # k = 1 and 3 draw the same frame
        return fig
    html = widgets._static_html(draw, {"k": Slider([1, 2, 3])}, "a test figure", dpi=30)
    before = json.loads(re.search(r'class="nnbook-exp-data">(.*?)</script>', html).group(1))
    page = "<p>text</p>" + html + "<p>more</p>" + html  # the same experiment twice on a page
    out = externalize_experiments(page, str(tmp_path), "../")
    assert "base64" not in out and out.startswith("<p>text</p>") and out.endswith("</div>")
    files = sorted(p.name for p in (tmp_path / "_frames").iterdir())
    assert len(files) == len(before["frames"]) == 2  # identical frames: one file
    for block in re.findall(r'class="nnbook-exp-data">(.*?)</script>', out):
        data = json.loads(block)
        assert data["order"] == before["order"] and data["shape"] == before["shape"]
        for url, b64 in zip(data["frames"], before["frames"]):
            assert url.startswith("../_frames/")
            assert (tmp_path / url[3:]).read_bytes() == base64.b64decode(b64)
    img = re.search(r"<img [^>]*>", out).group(0)
    assert " src=" not in img and 'data-src="../_frames/' in img and 'alt="a test figure"' in img
    assert re.search(r'width="\d+" height="\d+"', img)


def test_the_theme_fontawesome_script_is_dropped(tmp_path):
    from nnbook_frames import drop_fontawesome_js

    page = ('<head>\n  <script defer src="../_static/scripts/fontawesome.js?digest=55c2"></script>\n'
            '<script src="../_static/other.js"></script></head><i class="fa-solid fa-bars"></i>')
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.html").write_text(page)
    assert drop_fontawesome_js(str(tmp_path)) == 1
    out = (tmp_path / "book" / "a.html").read_text()
    assert "fontawesome.js" not in out and "other.js" in out and "fa-bars" in out
