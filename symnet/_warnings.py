"""Silence one warning that torch emits on symnet's behalf, and nothing else.

The first forward-mode derivative of a process (``torch.func.jvp``, which
symnet uses for Lie derivatives, velocity prolongations and mass matrices)
makes torch import ``torch._decomp.decompositions_for_jvp``, whose import
calls ``torch.jit.script`` and so warns::

    DeprecationWarning: `torch.jit.script` is deprecated. Please switch to
    `torch.compile` or `torch.export`.

The same warning comes from ``torch_geometric``'s import (it scripts classes
at import time); :func:`quiet_jit_script` ignores it around that import in
:mod:`symnet.nn.egnn_conv`. The warning is about torch's own internals;
neither symnet nor its users can act on it. :func:`install` (run by ``import
symnet``) adds an import hook that ignores exactly that message, and only
while that one torch module is being imported (a ``warnings.catch_warnings``
block around its execution); no lasting filter is added, so a user's own
``torch.jit.script`` call still warns. The hook does nothing when the module
is already imported, and removes itself once the module has been imported
through it.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["install", "quiet_jit_script", "JIT_SCRIPT_MESSAGE", "JVP_DECOMPOSITIONS"]

#: The torch module whose import warns.
JVP_DECOMPOSITIONS = "torch._decomp.decompositions_for_jvp"
#: Regular expression of the message ignored while it is imported.
JIT_SCRIPT_MESSAGE = r"`torch\.jit\.script` is deprecated\. Please switch to `torch\.compile`"


class _QuietLoader(importlib.abc.Loader):
    """Wraps the real loader of :data:`JVP_DECOMPOSITIONS` with the warning ignored."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=JIT_SCRIPT_MESSAGE, category=DeprecationWarning
            )
            self._loader.exec_module(module)
        _uninstall()

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, ...
        return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds :data:`JVP_DECOMPOSITIONS` through the other finders and wraps its loader."""

    def find_spec(
        self, fullname: str, path: Any, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != JVP_DECOMPOSITIONS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _QuietFinder()


def _uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def install() -> None:
    """Install the import hook (once; a no-op when the torch module is already imported)."""
    if JVP_DECOMPOSITIONS in sys.modules or _FINDER in sys.meta_path:
        return
    sys.meta_path.insert(0, _FINDER)


@contextlib.contextmanager
def quiet_jit_script() -> Iterator[None]:
    """Ignore the ``torch.jit.script`` deprecation inside the block only.

    For imports of other libraries that script their classes at import time
    (``torch_geometric``, imported by :mod:`symnet.nn.egnn_conv`).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JIT_SCRIPT_MESSAGE, category=DeprecationWarning)
        yield
