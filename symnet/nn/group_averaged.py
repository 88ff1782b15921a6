"""Exact symmetrization over a finite group: the :class:`GroupAveraged` wrapper.

The Reynolds operator ``f(x) = 1/|G| sum_g g^-1 f(g x)`` over all elements of
a finite group (at most :data:`MAX_ENUMERATED` of them) or over given
elements, evaluated as one call of the model on ``|G| B`` rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from symnet.groups import Element, Group, Kind, Permutation, take_element
from symnet.nn._checks import call_model, check_rows
from symnet.nn._wrapper import _as_tuple, _check_count, _Wrapper

__all__ = ["GroupAveraged"]

#: Largest group that GroupAveraged enumerates by itself (7! = 5040 permutations).
MAX_ENUMERATED = 5040


def all_permutations(n: int) -> Tensor:
    """Deprecated: ``Permutation().elements((n, d))``, the ``n!`` permutations, ``(n!, n)``."""
    return Permutation().elements((n, 1))


class GroupAveraged(_Wrapper):
    """Exact symmetrization over a finite group: ``1/|G| sum_g g^-1 . model(g . x)``.

    Invariant (``out_kinds=None``): ``1/|G| sum_g model(g . x)``. Exact when the
    elements form a group; for a subgroup ``H`` (e.g. the Klein four-group in
    S_4) the result is ``H``-invariant, not ``G``-invariant. Cost: ``|G|``
    forward passes, made as one call of the model on ``|G| B`` rows, so the
    model must treat the rows of its batch independently.

    Parameters
    ----------
    model : callable
        ``model(*inputs)`` returning a tensor or a tuple of tensors.
    group : Group
        Acts on the inputs and outputs through :meth:`Group.act`.
    in_kinds : kind or tuple of kinds
        One per input.
    out_kinds : kind or tuple of kinds, optional
        One per output; ``None`` for the invariant version.
    elements : Element, optional
        A batch of ``|G|`` elements of ``group``. Default: all of a finite
        ``group`` (:meth:`Group.elements`, e.g. the ``N!`` permutations of
        the ``N`` particles of the inputs), at most 5040 of them.

    Attributes
    ----------
    group, in_kinds, out_kinds
        The declaration :func:`~symnet.testing.assert_equivariant` reads:
        ``group`` as given, ``out_kinds`` ``None`` for the invariant version.
        With ``elements=`` a proper subgroup ``H``, only ``H`` is guaranteed:
        pass ``H`` (or its generators) to the assertion instead.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Permutation
    >>> first = GroupAveraged(lambda x: x[..., 0, :], Permutation(), "scalar")
    >>> x = torch.arange(3.0).reshape(1, 3, 1)
    >>> first(x)  # the mean over all 3! orderings
    tensor([[1.]])
    >>> from symnet.testing import assert_equivariant
    >>> assert_equivariant(first, torch.randn(4, 3, 1)).property
    'invariant'
    """

    def __init__(
        self,
        model: Callable[..., Any],
        group: Group,
        in_kinds: Any,
        out_kinds: Any = None,
        elements: Element | None = None,
    ) -> None:
        super().__init__(model, in_kinds, out_kinds)
        if not isinstance(group, Group):
            raise TypeError(f"group must be a symnet.groups.Group, got {type(group).__name__}")
        if elements is None and not group.discrete:
            raise ValueError(
                f"GroupAveraged enumerates the elements of finite groups only; pass "
                f"elements= (a finite subgroup of {group!r}) explicitly"
            )
        self.group = group
        self.elements = elements

    def _elements(self, xs: Sequence[Tensor], kinds: Sequence[Kind]) -> Element:
        if self.elements is not None:
            return self.elements
        n = next((int(x.shape[-2]) for x, k in zip(xs, kinds, strict=True) if k.particle_axis), 1)
        d = self.group.dim or next(
            (int(x.shape[-1]) for x, k in zip(xs, kinds, strict=True) if k.particle_axis), 1
        )
        order = self.group.order((n, d))
        if order is None or order > MAX_ENUMERATED:
            raise ValueError(
                f"averaging over all {order} elements of {self.group!r} on {n} particles is too "
                f"expensive (limit {MAX_ENUMERATED}); pass elements= (a subgroup) instead"
            )
        return self.group.elements((n, d))

    def forward(self, *xs: Tensor) -> Tensor | tuple[Tensor, ...]:
        """Evaluate the average; shapes as the model's."""
        kinds = self._inputs(xs)
        elements = self._elements(xs, kinds)
        count = self.group._batch(elements)
        gs = [take_element(elements, k, xs[0].device) for k in range(count)]
        moved = [
            torch.cat([self.group.act(g, x, kind) for g in gs])
            for x, kind in zip(xs, kinds, strict=True)
        ]
        outs, single = _as_tuple(call_model(self.model, moved))
        if self.out_kinds is not None:
            _check_count(self.out_kinds, len(outs), "out_kinds")
        rows = int(moved[0].shape[0])
        why = f"calls the model once on |G| B = {count} x {rows // count} = {rows} rows"
        check_rows(outs, rows, type(self).__name__, why)
        averaged = []
        for j, y in enumerate(outs):
            parts = y.reshape(count, -1, *y.shape[1:]).unbind(0)
            if self.out_kinds is not None:
                kind = self.out_kinds[j]
                parts = [
                    self.group.act(self.group.inverse(g), p, kind)
                    for g, p in zip(gs, parts, strict=True)
                ]
            averaged.append(torch.stack(list(parts)).mean(0))
        return self._finish(tuple(averaged), single)

    def extra_repr(self) -> str:
        """Group, number of elements, kinds."""
        size = "all" if self.elements is None else str(self.group._batch(self.elements))
        return f"{self.group!r}, elements={size}, {super().extra_repr()}"
