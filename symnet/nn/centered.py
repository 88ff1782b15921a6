"""Translation invariance by centring: the :class:`Centered` wrapper.

The centroid of the first ``point`` input is subtracted from every point
input and added back to every point output; one forward pass per call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from symnet._util import format_shape
from symnet.groups import Translation
from symnet.nn._checks import call_model, output_names
from symnet.nn._wrapper import _as_tuple, _check_count, _check_dim, _Wrapper

__all__ = ["Centered"]


class Centered(_Wrapper):
    """Translation invariance by centring: subtract the centroid, add it back to points.

    The centroid ``c`` (shape ``(..., 1, d)``) of the first ``point`` input is
    subtracted from every ``point`` input and added to every ``point`` output;
    other kinds pass unchanged. ``c`` moves with rotations and is unchanged by
    permutations, so existing rotation and permutation symmetries are kept.
    Cost: 1 forward pass.

    Parameters
    ----------
    model : callable
        ``model(*inputs)`` returning a tensor or a tuple of tensors.
    in_kinds : kind or tuple of kinds
        One per input; point inputs have shape ``(..., N, d)``.
    out_kinds : kind or tuple of kinds, optional
        One per output; ``None`` for an invariant wrapper (outputs untouched).
    dim : int
        Spatial dimension ``d`` of the declared :attr:`group` (default 3; the
        wrapper itself works in any ``d``).

    Attributes
    ----------
    group : Group
        ``Translation(d)``: the symmetry the wrapper guarantees, whatever the
        model (rotations and permutations only when the model has them).
    in_kinds, out_kinds : tuple of Kind
        As given (``out_kinds`` ``None``: invariant), read by
        :func:`~symnet.testing.assert_equivariant`.

    Examples
    --------
    >>> import torch
    >>> model = Centered(lambda q: q**2, "point", "point")
    >>> q = torch.randn(2, 4, 3)
    >>> torch.allclose(model(q + 1.0), model(q) + 1.0)
    True
    >>> from symnet.testing import assert_equivariant
    >>> model.group
    Translation(3)
    >>> assert_equivariant(model, q).passed
    True
    """

    def __init__(
        self,
        model: Callable[..., Any],
        in_kinds: Any = "point",
        out_kinds: Any = None,
        *,
        dim: int = 3,
    ) -> None:
        super().__init__(model, in_kinds, out_kinds)
        assert self.in_kinds is not None
        if not any(k.name == "point" for k in self.in_kinds):
            raise ValueError("Centered needs at least one input of kind 'point'")
        self.dim = _check_dim(dim)
        self.group = Translation(self.dim)

    def forward(self, *xs: Tensor) -> Tensor | tuple[Tensor, ...]:
        """Evaluate ``model`` on centred inputs; shapes as the model's."""
        kinds = self._inputs(xs)
        first = next(x for x, k in zip(xs, kinds, strict=True) if k.name == "point")
        c = first.mean(-2, keepdim=True)
        # copies of the other inputs too: a model that writes into its arguments
        # must not change the caller's tensors
        moved = [x - c if k.name == "point" else x.clone() for x, k in zip(xs, kinds, strict=True)]
        outs, single = _as_tuple(call_model(self.model, moved))
        if self.out_kinds is not None:
            _check_count(self.out_kinds, len(outs), "out_kinds")
            names = output_names(len(outs))
            for y, k, name in zip(outs, self.out_kinds, names, strict=True):
                if k.name == "point":
                    _check_point_output(y, c, name)
            outs = tuple(
                y + c if k.name == "point" else y for y, k in zip(outs, self.out_kinds, strict=True)
            )
        return self._finish(outs, single)


def _check_point_output(y: Tensor, c: Tensor, name: str) -> None:
    """A point output must be ``(..., M, d)`` with the inputs' leading axes (no broadcasting)."""
    if y.dim() < 2 or y.shape[:-2] != c.shape[:-2] or y.shape[-1] != c.shape[-1]:
        lead = ", ".join(str(int(s)) for s in c.shape[:-2])
        raise ValueError(
            f"model output {name} of kind point has shape {format_shape(y.shape)}; expected "
            f"({lead}{', ' if lead else ''}M, {c.shape[-1]}), the leading axes of the inputs, "
            f"so that the centroid (shape {format_shape(c.shape)}) can be added back"
        )
