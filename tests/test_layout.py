"""The package's shape: layers that import only downwards, a public API that imports lazily.

The layers, lowest first (``nnbook/__init__.py`` and DESIGN.md describe them)::

    checks < kernels < nn < train < data < teach < display

A module may import from its own layer and from layers below it, never from a layer above. The
test reads every ``import`` of every module (including those inside functions), so a drawing
function in a computing module, or a cycle, fails here.
"""
from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

import pytest

import nnbook

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nnbook"
LAYERS = ["checks", "kernels", "nn", "train", "data", "teach", "display"]
#: modules outside the layers: the package's own plumbing, importable from anywhere
PLUMBING = {"_lazy", "__init__"}


def _layer(module: str) -> str | None:
    """``nnbook.nn.mlp`` -> ``nn``; None for the top-level plumbing."""
    parts = module.split(".")
    assert parts[0] == "nnbook", module
    if len(parts) == 1 or parts[1] in PLUMBING:
        return None
    assert parts[1] in LAYERS, f"{module} is in no layer: put it in one of {LAYERS}"
    return parts[1]


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, ".".join(parts)


def _imports(path: pathlib.Path, module: str) -> set[str]:
    """Every nnbook module that ``module`` imports, anywhere in the file."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "nnbook":
                out.add(target)
                out |= {f"{target}.{a.name}" for a in node.names
                        if (PACKAGE.parent / f"{target}.{a.name}".replace(".", "/")).with_suffix(".py").exists()}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "nnbook"}
    return out


def test_every_module_is_in_a_layer():
    for path, module in _modules():
        _layer(module)  # asserts


@pytest.mark.parametrize("path,module", list(_modules()), ids=lambda v: str(v) if isinstance(v, str) else "")
def test_no_module_imports_a_higher_layer(path, module):
    own = _layer(module)
    if own is None:
        return
    for target in _imports(path, module):
        layer = _layer(target)
        if layer is not None:
            assert LAYERS.index(layer) <= LAYERS.index(own), (
                f"{module} ({own}) imports {target} ({layer}), a higher layer: move the code "
                f"that needs it up, or what it needs down")


def test_the_layers_the_rule_checks_exist():
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__") == \
        sorted(set(LAYERS) - {"checks"})
    assert (PACKAGE / "checks.py").exists()


def test_public_api_resolves_and_no_name_hides_a_module():
    top_level = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if p.is_dir()}
    for name in nnbook.__all__:
        value = getattr(nnbook, name)
        if name in LAYERS:
            assert value.__name__ == f"nnbook.{name}"
        else:
            assert not hasattr(value, "__file__"), f"nnbook.{name} is a module: import it from its layer"
            assert name not in top_level, f"nnbook.{name} hides the module nnbook/{name}"
    for sub in LAYERS[1:]:  # the subpackages define nothing but lazy access to their modules
        assert set(vars(__import__(f"nnbook.{sub}", fromlist=["_"]))) <= {
            "__name__", "__doc__", "__package__", "__loader__", "__spec__", "__path__", "__file__",
            "__cached__", "__builtins__", "lazy_getattr", "__getattr__"} | {
            m.stem for m in (PACKAGE / sub).glob("*.py")}


def test_import_nnbook_loads_no_heavy_dependency():
    code = ("import sys, nnbook; heavy = [m for m in ('numpy', 'numba', 'scipy', 'matplotlib', "
            "'sklearn', 'IPython') if m in sys.modules]; print(heavy)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
