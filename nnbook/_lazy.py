"""Import on first use: how ``nnbook`` and its subpackages stay cheap to import.

``import nnbook`` loads none of NumPy, SciPy, scikit-learn, Matplotlib or Numba. A name of the
public API (``nnbook.conv2d``) or a module of a subpackage (``nnbook.nn.layers``) is imported the
first time it is used (PEP 562 module ``__getattr__``), then cached in the package's namespace.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, Mapping


def lazy_getattr(package: str, names: Mapping[str, str] | None = None) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : mapping of str -> str, optional
        Attribute name -> the module (relative to ``package``) that defines it. Every submodule
        and subpackage of ``package`` is also importable as an attribute.
    """
    names = dict(names or {})
    namespace = importlib.import_module(package).__dict__
    submodules = {m.name for m in pkgutil.iter_modules(namespace["__path__"])}

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        elif name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    return __getattr__
