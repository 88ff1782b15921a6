"""The base of the symmetrizing wrappers: kinds of inputs and outputs, output checks.

Private module. ``_Wrapper`` holds the model and the kinds it was declared
with (``out_kinds=None``: invariant) and checks their counts against the
inputs and outputs; the wrappers themselves are in :mod:`symnet.nn.centered`,
:mod:`symnet.nn.group_averaged` and :mod:`symnet.nn.frame_averaged`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from symnet.groups import Kind, as_kind

__all__ = ["_Wrapper"]


def _kinds(kinds: Any, what: str) -> tuple[Kind, ...] | None:
    if kinds is None:
        return None
    items = list(kinds) if isinstance(kinds, (list, tuple)) else [kinds]
    return tuple(as_kind(k, what) for k in items)


def _check_count(kinds: tuple[Kind, ...], n: int, what: str) -> None:
    if len(kinds) != n:
        raise ValueError(f"{what} has {len(kinds)} kind(s) but there are {n}; expected one each")


def _as_tuple(out: Any) -> tuple[tuple[Tensor, ...], bool]:
    if isinstance(out, Tensor):
        return (out,), True
    if isinstance(out, (tuple, list)) and all(isinstance(o, Tensor) for o in out):
        return tuple(out), False
    raise TypeError(f"the model must return a tensor or a tuple of tensors, got {type(out)}")


def _kinds_repr(kinds: tuple[Kind, ...] | None) -> str:
    return "invariant" if kinds is None else ", ".join(str(k) for k in kinds)


def _check_dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be an int >= 1, got {dim!r}")
    return dim


class _Wrapper(nn.Module):
    def __init__(self, model: Callable[..., Any], in_kinds: Any, out_kinds: Any) -> None:
        super().__init__()
        if not callable(model):
            raise TypeError(f"model must be callable, got {type(model).__name__}")
        self.model = model
        self.in_kinds = _kinds(in_kinds, "in_kinds")
        self.out_kinds = _kinds(out_kinds, "out_kinds")

    def _inputs(self, xs: tuple[Tensor, ...]) -> tuple[Kind, ...]:
        assert self.in_kinds is not None
        _check_count(self.in_kinds, len(xs), "in_kinds")
        return self.in_kinds

    def _finish(self, outs: tuple[Tensor, ...], single: bool) -> Tensor | tuple[Tensor, ...]:
        if self.out_kinds is not None:
            _check_count(self.out_kinds, len(outs), "out_kinds")
        return outs[0] if single else outs

    def extra_repr(self) -> str:
        """The kinds of inputs and outputs."""
        return f"in=({_kinds_repr(self.in_kinds)}), out=({_kinds_repr(self.out_kinds)})"
