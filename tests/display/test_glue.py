"""nnbook.display.glue: MyST-NB's glue where MyST-NB is installed, and the same output where it is not."""
from __future__ import annotations

import numpy as np
import pytest

import nnbook.display.glue as glue_module


@pytest.fixture
def shown(monkeypatch):
    calls = []

    def record(*args, **kwargs):
        calls.append((args, kwargs))

    monkeypatch.setattr("IPython.display.display", record)
    monkeypatch.setattr("myst_nb.ext.glue.ipy_display", record)
    return calls


VALUES = [0.25, 3, "text", np.float64(1e-300), np.array([1.5, 2.0]), {"a": 1}]


def test_with_myst_nb_the_value_carries_glue_metadata(shown):
    assert glue_module.HAVE_MYST_NB
    glue_module.glue("x", 0.25)
    (bundle,), kwargs = shown[-1]
    assert bundle["text/plain"] == "0.25"
    assert kwargs["metadata"]["scrapbook"] == {"name": "x", "mime_prefix": ""}
    glue_module.glue("y", 3, display=False)      # stored but hidden (a prefixed mime type)
    (bundle,), kwargs = shown[-1]
    assert list(bundle) == [glue_module.HIDDEN_PREFIX + "text/plain"]


@pytest.mark.parametrize("display", [True, False])
def test_without_myst_nb_the_output_is_the_same(shown, monkeypatch, display):
    for value in VALUES:
        glue_module.glue("v", value, display=display)
    with_myst = list(shown)
    shown.clear()
    monkeypatch.setattr(glue_module, "_myst_glue", None)
    for value in VALUES:
        glue_module.glue("v", value, display=display)
    assert shown == with_myst and len(shown) == len(VALUES)
