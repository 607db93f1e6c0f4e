"""Publishing: the GitHub workflow and the launch buttons (their branch: test_launch.py).

The workflow is validated offline against the schema that check-jsonschema carries; the launch
buttons follow one setting ($NNBOOK_REPOSITORY_URL) and are checked in the built pages.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, SITE, pages

sys.path.insert(0, str(ROOT / "_ext"))
from nnbook_build import LAUNCH_BRANCH, LAUNCH_SETTING, launch_options  # noqa: E402

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = pathlib.Path(sys.executable).parent


def readme_test_command() -> str:
    """The README's test command: the one line of its ``make test`` code block."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    commands = [b.strip() for b in blocks if b.strip().startswith("make test")]
    assert commands, "the README shows no test command"
    return commands[0]


def test_workflows_match_the_github_schema():
    assert WORKFLOWS, "no GitHub workflow"
    run = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                          "vendor.github-workflows", *map(str, WORKFLOWS)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ci_script_ends_with_the_readme_test_command():
    lines = [l.strip() for l in (ROOT / ".ci" / "run").read_text().splitlines()
             if l.strip() and not l.strip().startswith("#")]
    assert lines[-1] == readme_test_command()


def test_workflow_tests_every_push_and_deploys_the_default_branch():
    wf = yaml.safe_load(WORKFLOWS[0].read_text())
    on = wf.get("on", wf.get(True))          # YAML 1.1 reads the key `on` as True
    assert "push" in on and "pull_request" in on
    test, deploy = wf["jobs"]["test"], wf["jobs"]["deploy"]
    assert test["container"].startswith("debian:"), "Chromium comes from Debian's apt"
    runs = [s.get("run", "") for s in test["steps"]]
    assert "bash .ci/run" in runs, "the workflow must install and test through .ci/run"
    uses = [s.get("uses", "") for s in test["steps"] + deploy["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    upload = next(s for s in test["steps"] if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_build/html"
    assert "default_branch" in deploy["if"] and "push" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert test["env"][LAUNCH_SETTING] == "${{ vars.%s }}" % LAUNCH_SETTING


def test_launch_buttons_follow_one_setting():
    theme = {"launch_buttons": {"binderhub_url": "https://mybinder.org"}, "other": 1}
    off = launch_options(theme, {})
    assert off["launch_buttons"] == {} and "repository_url" not in off and off["other"] == 1
    assert launch_options(theme, {LAUNCH_SETTING: "  "})["launch_buttons"] == {}
    on = launch_options(theme, {LAUNCH_SETTING: "https://github.com/me/nnbook/"})
    assert on["repository_url"] == "https://github.com/me/nnbook"
    assert on["repository_branch"] == LAUNCH_BRANCH   # the launch copies, not the sources
    assert on["launch_buttons"]["binderhub_url"] == "https://mybinder.org"


def test_workflow_pushes_the_launch_branch_when_the_setting_is_set():
    wf = yaml.safe_load(WORKFLOWS[0].read_text())
    test, notebooks = wf["jobs"]["test"], wf["jobs"]["notebooks"]
    make = next(s for s in test["steps"] if "--launch" in s.get("run", ""))
    assert "vars.%s != ''" % LAUNCH_SETTING in make["if"] and "default_branch" in make["if"]
    assert "git+${%s%%/}@$GITHUB_SHA" % LAUNCH_SETTING in make["run"]
    assert notebooks["needs"] == "test" and notebooks["permissions"] == {"contents": "write"}
    assert "vars.%s != ''" % LAUNCH_SETTING in notebooks["if"]
    push = notebooks["steps"][-1]["run"]
    assert f"git push --force" in push and push.rstrip().endswith(LAUNCH_BRANCH)
    assert wf["permissions"] == {"contents": "read"}, "only the notebooks job may write"


def test_built_chapters_have_launch_buttons_exactly_when_the_setting_is_set():
    url = os.environ.get(LAUNCH_SETTING, "").strip().rstrip("/")
    chapters = [p for p in pages() if (ROOT / p).with_suffix(".ipynb").exists()]
    assert chapters
    for path in chapters:
        html = (SITE / path).read_text()
        binder = re.findall(r'href="(https://mybinder\.org/v2/gh/[^"]+)"', html)
        colab = re.findall(r'href="(https://colab\.research\.google\.com/github/[^"]+)"', html)
        if url:
            owner_repo = "/".join(url.split("/")[-2:])
            notebook = path.replace(".html", ".ipynb")
            assert binder and binder[0].startswith(
                f"https://mybinder.org/v2/gh/{owner_repo}/{LAUNCH_BRANCH}?") and notebook in binder[0]
            assert colab == [f"https://colab.research.google.com/github/{owner_repo}/blob/"
                             f"{LAUNCH_BRANCH}/{notebook}"]
        else:
            assert not binder and not colab and "launch-buttons" not in html, (
                f"{path}: launch button while unset")


def test_readme_says_how_to_publish_a_fork():
    readme = (ROOT / "README.md").read_text()
    assert "## Publishing" in readme and LAUNCH_SETTING in readme and "GitHub Actions" in readme
