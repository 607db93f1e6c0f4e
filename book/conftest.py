"""nbval settings for the chapters: a cell that prints to stderr (e.g. a warning) fails."""
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    for out in getattr(item, "test_outputs", None) or []:
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            raise AssertionError(f"cell printed to stderr (warnings are errors):\n{out.get('text', '')}")
    return result
