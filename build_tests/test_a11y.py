"""Accessibility: axe-core (bundled by axe-playwright-python, no download) on every page.

Any serious or critical violation fails, except the ones listed in THEME below: they come from
the theme's own markup, which the book cannot change, each with the reason.
"""
from __future__ import annotations

import pytest

from conftest import pages
from test_site import open_page

# rule id -> (CSS selector fragment of the offending node, why the book cannot fix it)
THEME: dict[str, tuple[str, str]] = {}


def _excused(rule: str, target: str) -> bool:
    fragment = THEME.get(rule, (None, ""))[0]
    return fragment is not None and fragment in target


@pytest.mark.parametrize("path", pages())
def test_no_serious_accessibility_violation(browser, site_url, path):
    from axe_playwright_python.sync_playwright import Axe

    ctx, page, problems = open_page(browser, site_url, path)
    try:
        page.wait_for_timeout(300)
        results = Axe().run(page).response
        found = []
        for v in results["violations"]:
            if v["impact"] not in ("serious", "critical"):
                continue
            for node in v["nodes"]:
                target = " ".join(map(str, node["target"]))
                if not _excused(v["id"], target):
                    found.append(f"{v['id']} ({v['impact']}): {target}: "
                                 f"{node.get('failureSummary', '')[:200]}")
        assert not found, f"{len(found)} violations:\n" + "\n".join(found[:20])
    finally:
        ctx.close()
