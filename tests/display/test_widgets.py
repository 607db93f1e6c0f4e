import json
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnbook.display import widgets
from nnbook.display.widgets import Checkbox, Dropdown, Slider, experiment

matplotlib.use("Agg")
CALLS = []


def draw(k, name, flag):
    CALLS.append((k, name, flag))
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot(np.arange(5) * k, "-" if flag else "--")
    ax.set_title(name)
    return fig


CONTROLS = {"k": Slider([1, 2, 3], value=2), "name": Dropdown({"A": "a", "B": "b"}),
            "flag": Checkbox(True, label="flag it")}


def test_static_html_has_every_frame_in_order(monkeypatch):
    monkeypatch.setenv("NNBOOK_BUILD", "1")
    CALLS.clear()
    html = widgets._static_html(draw, CONTROLS, "a test figure", dpi=40)
    assert len(CALLS) == 12
    assert CALLS[0] == (1, "a", False) and CALLS[-1] == (3, "b", True)
    data = json.loads(re.search(r'class="nnbook-exp-data">(.*?)</script>', html).group(1))
    assert data["shape"] == [3, 2, 2] and len(data["order"]) == 12
    assert len(data["frames"]) == 12            # all frames differ here
    # initial frame: k=2 (index 1), name A (0), flag on (1) -> 1*4 + 0*2 + 1 = 5
    assert 'data-frame="5"' in html
    assert f'src="data:image/png;base64,{data["frames"][5]}"' in html
    assert 'type="range"' in html and "<select" in html and 'type="checkbox"' in html
    assert html.count("<label for=") == 3 and 'alt="a test figure"' in html


def test_identical_frames_are_stored_once():
    def same(k):
        fig, ax = plt.subplots(figsize=(1, 1))
        return fig
    html = widgets._static_html(same, {"k": Slider([1, 2, 3, 4])}, "same", dpi=30)
    data = json.loads(re.search(r'class="nnbook-exp-data">(.*?)</script>', html).group(1))
    assert data["order"] == [0, 0, 0, 0] and len(data["frames"]) == 1


def test_frames_are_palette_pngs():
    from io import BytesIO
    from PIL import Image
    fig, ax = plt.subplots()
    ax.imshow(np.random.default_rng(0).uniform(size=(20, 20)))
    img = Image.open(BytesIO(widgets.render_frame(fig)))
    assert img.mode == "P" and len(img.getcolors()) <= 64


def test_mode_follows_build_flag(monkeypatch):
    monkeypatch.delenv("NNBOOK_BUILD", raising=False)
    assert not widgets.is_static()
    monkeypatch.setenv("NNBOOK_BUILD", "1")
    assert widgets.is_static()


def test_live_mode_draws_once(monkeypatch):
    monkeypatch.delenv("NNBOOK_BUILD", raising=False)
    CALLS.clear()
    experiment(draw, CONTROLS, alt="x")
    assert CALLS == [(2, "a", True)]


def test_live_controls_redraw_with_the_new_values(monkeypatch):
    monkeypatch.delenv("NNBOOK_BUILD", raising=False)
    CALLS.clear()
    box = widgets._live(draw, CONTROLS)
    slider, dropdown, checkbox = box.children[0].children
    assert [o[1] for o in slider.options] == [1, 2, 3] and slider.value == 2
    slider.value = 3
    dropdown.value = "b"
    checkbox.value = False
    assert CALLS == [(2, "a", True), (3, "a", True), (3, "b", True), (3, "b", False)]


@pytest.mark.parametrize("controls,alt,match", [
    ({"k": Slider(list(range(300)))}, "x", "exceeds max_frames"),
    ({}, "x", "non-empty dict"),
    ({"k": [1, 2]}, "x", "must be a Slider"),
    ({"k": Slider([1, 2], value=5)}, "x", "not one of its values"),
    ({"k": Slider([1, 2])}, "", "alt must describe"),
])
def test_bad_experiments(controls, alt, match):
    with pytest.raises(ValueError, match=match):
        experiment(draw, controls, alt=alt)


def test_slider_range():
    assert Slider.range(0.1, 0.5, 0.1).values == [0.1, 0.2, 0.3, 0.4, 0.5]


# ---------------------------------------------------------------- bad input (issue 17)
@pytest.mark.parametrize("call, name", [
    (lambda: widgets.Slider(5), "values"),
    (lambda: widgets.Slider.range(0, 1, 0), "step"),
    (lambda: widgets.Slider.range(0, 1, "0.1"), "step"),
    (lambda: widgets.Checkbox("no"), "Checkbox value"),
    (lambda: widgets.render_frame(None), "fig"),
    (lambda: widgets._check_controls({"a": widgets.Slider([1, 2])}, "10"), "max_frames"),
])
def test_bad_widget_input_names_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_slider_range_never_passes_stop():
    assert widgets.Slider.range(0, 1, 0.6).values == [0.0, 0.6]
    assert widgets.Slider.range(0, 0.3, 0.1).values == [0.0, 0.1, 0.2, 0.3]
    assert widgets.Slider.range(1, 5, 1).values == [1, 2, 3, 4, 5]


def test_a_draw_that_returns_none_is_named(monkeypatch):
    monkeypatch.setenv("NNBOOK_BUILD", "1")
    with pytest.raises(TypeError, match="draw must return a matplotlib Figure"):
        widgets.experiment(lambda a: None, {"a": widgets.Slider([1, 2])}, alt="nothing")
