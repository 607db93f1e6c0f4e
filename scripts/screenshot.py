"""Full-page screenshots of one built page, cut into viewport-high PNG tiles, plus any errors.

    python scripts/screenshot.py SITE_DIR PAGE OUT_DIR
"""
import pathlib
import sys

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from browser import launch, serve  # noqa: E402


def main(site, page_path, out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):  # no stale tiles from a longer, earlier build
        old.unlink()
    srv, base = serve(site)
    problems = []
    with sync_playwright() as p:
        b = launch(p)
        page = b.new_page(viewport={"width": 1200, "height": 1400})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:"))
                   else (problems.append("outside request " + r.request.url), r.abort()))
        page.on("console", lambda m: m.type == "error" and problems.append("console: " + m.text))
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.goto(f"{base}/{page_path}", wait_until="networkidle")
        page.wait_for_timeout(1500)
        height = page.evaluate("document.body.scrollHeight")
        for i, y in enumerate(range(0, height, 1400)):
            page.evaluate(f"window.scrollTo(0, {y})")
            page.wait_for_timeout(200)
            page.screenshot(path=str(out / f"{i:02d}.png"))
        b.close()
    srv.shutdown()
    srv.server_close()
    print(f"{out}: {len(list(out.glob('*.png')))} tiles")
    for pr in problems:
        print("PROBLEM:", pr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
