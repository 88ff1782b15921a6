"""Per-unit slices of parameter tensors, and the families of symmetries built on them.

A :class:`ParamSlice` names the part of one parameter tensor that belongs to
one unit (a row, a column, a filter, a block of them, or the whole tensor); a
:class:`SymmetryFamily` groups the per-unit symmetries of one layer (Kunin et
al., "Neural Mechanics", ICLR 2021) and computes all their charges at once,
in float64.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from symnet.learning._options import integer
from symnet.learning.symmetry import CHARGE_FORMULAS, KINDS, QUADRATIC, ParameterSymmetry

__all__ = ["ParamSlice", "SymmetryFamily"]


@dataclass(frozen=True)
class ParamSlice:
    """The per-unit slices of one parameter tensor.

    Unit ``j`` owns the indices ``j * block ... (j + 1) * block - 1`` along
    ``axis`` (all indices along the other axes); ``axis=None`` makes the
    whole tensor a single unit.

    Parameters
    ----------
    param : str
        Parameter name as in ``model.named_parameters()``, e.g. ``"fc1.weight"``.
    axis : int or None
        The unit axis (non-negative) of the parameter tensor (0: rows / output channels,
        1: columns / input channels), or None for the whole tensor.
    block : int
        Consecutive indices per unit along ``axis``.
    sign : int
        +1 for the slice ``A`` or ``A1``, -1 for the divided slice ``A2`` of
        a rescale symmetry.
    """

    param: str
    axis: int | None = 0
    block: int = 1
    sign: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.param, str) or not self.param:
            raise TypeError(f"param must be a parameter name (str), got {self.param!r}")
        # frozen dataclass: normalized values (numpy integers -> int) go in via object.__setattr__
        if self.axis is not None:
            object.__setattr__(self, "axis", integer(self.axis, "axis", minimum=0))
        object.__setattr__(self, "block", integer(self.block, "block", minimum=1))
        sign = integer(self.sign, "sign")
        if sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1, got {self.sign!r}")
        object.__setattr__(self, "sign", sign)

    def n_units(self, shape: Sequence[int]) -> int:
        """Number of units in a parameter of this shape."""
        if self.axis is None:
            return 1
        if self.axis >= len(shape):
            raise ValueError(f"{self.param} of shape {tuple(shape)} has no axis {self.axis}")
        size = int(shape[self.axis])
        if size % self.block:
            raise ValueError(
                f"{self.param}: axis {self.axis} of size {size} is not a multiple of "
                f"the block {self.block}"
            )
        return size // self.block

    def view(self, t: Tensor) -> Tensor:
        """``t`` (the parameter's shape) as shape ``(n_units, m)``, one row per unit."""
        if self.axis is None:
            return t.reshape(1, -1)
        n = t.shape[self.axis] // self.block
        return (t if self.axis == 0 else t.movedim(self.axis, 0)).reshape(n, -1)

    def index(self, unit: int, ndim: int) -> tuple[slice, ...]:
        """Index tuple selecting unit ``unit`` of a tensor with ``ndim`` dimensions."""
        idx = [slice(None)] * ndim
        if self.axis is not None:
            idx[self.axis] = slice(unit * self.block, (unit + 1) * self.block)
        return tuple(idx)

    def label(self, unit: int, ndim: int) -> str:
        """Readable slice, e.g. ``fc1.weight[3,:]``, ``fc2.weight[:,3]``, ``conv.weight[3,...]``."""
        if self.axis is None:
            return self.param
        if self.block == 1:
            at = str(unit)
        else:
            at = f"{unit * self.block}:{(unit + 1) * self.block}"
        parts = [":"] * ndim
        parts[self.axis] = at
        if ndim > 2 and self.axis < ndim - 1:
            parts = parts[: self.axis + 1] + ["..."]
        return f"{self.param}[{','.join(parts)}]"


class SymmetryFamily:
    """The per-unit symmetries of one layer, e.g. ``rescale fc1/fc2 (32 units)``.

    Parameters
    ----------
    kind : {"translation", "scale", "rescale"}
        The kind of every member.
    parts : sequence of ParamSlice
        The slices acted on; all must have the same number of units. For a
        rescale, ``sign=+1`` marks ``A1`` (multiplied) and ``sign=-1`` marks
        ``A2`` (divided).
    shapes : mapping of str to shape
        Shape of every parameter named in ``parts``.
    name : str, optional
        Family name for reports; a default is built from the parameters.
    source : str
        Why the symmetry exists (``"ReLU between fc1 and fc2"``).

    Examples
    --------
    >>> from symnet.learning import ParamSlice, SymmetryFamily
    >>> parts = [
    ...     ParamSlice("fc1.weight", 0),
    ...     ParamSlice("fc1.bias", 0),
    ...     ParamSlice("fc2.weight", 1, sign=-1),
    ... ]
    >>> shapes = {"fc1.weight": (4, 3), "fc1.bias": (4,), "fc2.weight": (2, 4)}
    >>> fam = SymmetryFamily("rescale", parts, shapes)
    >>> fam.name, len(fam)
    ('rescale fc1/fc2 (4 units)', 4)
    >>> fam[3].name
    'rescale: fc1.weight[3,:], fc1.bias[3] / fc2.weight[:,3]'
    """

    def __init__(
        self,
        kind: str,
        parts: Sequence[ParamSlice],
        shapes: Mapping[str, Sequence[int]],
        *,
        name: str | None = None,
        source: str = "",
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        parts = tuple(parts)
        if not parts:
            raise ValueError("a symmetry family needs at least one parameter slice")
        signs = {p.sign for p in parts}
        if kind == "rescale" and signs != {1, -1}:
            raise ValueError("a rescale needs slices with sign +1 (A1) and sign -1 (A2)")
        if kind != "rescale" and signs != {1}:
            raise ValueError(f"every slice of a {kind} symmetry has sign +1")
        self.shapes = {p.param: tuple(int(s) for s in shapes[p.param]) for p in parts}
        counts = {p.n_units(self.shapes[p.param]) for p in parts}
        if len(counts) != 1:
            raise ValueError(f"the slices of one family must have equal unit counts, got {counts}")
        self.kind = kind
        self.parts = parts
        self._params = tuple(dict.fromkeys(p.param for p in parts))
        self.n_units = counts.pop()
        self.source = source
        if name is None:
            a1 = "+".join(dict.fromkeys(p.param.rsplit(".", 1)[0] for p in parts if p.sign > 0))
            a2 = "+".join(dict.fromkeys(p.param.rsplit(".", 1)[0] for p in parts if p.sign < 0))
            units = "whole" if self.n_units == 1 else f"{self.n_units} units"
            name = f"{kind} {a1}{'/' + a2 if a2 else ''} ({units})"
        self.name = name
        self.members = [ParameterSymmetry(self, j) for j in range(self.n_units)]

    @property
    def params(self) -> list[str]:
        """The parameter names acted on, in order."""
        return list(self._params)

    @property
    def charge_formula(self) -> str:
        """The charge as a formula, e.g. ``|theta_A|^2``."""
        return CHARGE_FORMULAS[self.kind]

    @property
    def quadratic(self) -> bool:
        """True for scale and rescale (quadratic charges), False for translation."""
        return QUADRATIC[self.kind]

    def __len__(self) -> int:
        return self.n_units

    def __getitem__(self, unit: int) -> ParameterSymmetry:
        return self.members[unit]

    def __repr__(self) -> str:
        return f"SymmetryFamily({self.name!r})"

    # ------------------------------------------------------------ per-unit algebra
    def views(self, tensors: Mapping[str, Tensor]) -> list[Tensor]:
        """Each part of ``tensors`` (name -> tensor) as float64 ``(n_units, m)``, in part order."""
        with torch.no_grad():
            return self._views(tensors)

    def _views(self, tensors: Mapping[str, Tensor]) -> list[Tensor]:
        return [p.view(tensors[p.param].double()) for p in self.parts]

    def sum_views(self, va: Sequence[Tensor], vb: Sequence[Tensor] | None = None) -> Tensor:
        """``sum_parts <a_part, 1>`` (``vb`` None) or ``sum_parts sign <a_part, b_part>``.

        ``va`` and ``vb`` come from :meth:`views`; returns shape ``(n_units,)``.
        """
        if vb is None:
            return sum(x.sum(1) for x in va)
        return sum(p.sign * (x * y).sum(1) for p, x, y in zip(self.parts, va, vb, strict=True))

    def linear(self, tensors: Mapping[str, Tensor]) -> Tensor:
        """``<t_A, 1>`` for every unit, in float64: shape ``(n_units,)``."""
        return self.sum_views(self.views(tensors))

    def bilinear(
        self, a: Mapping[str, Tensor], b: Mapping[str, Tensor], *, signed: bool = True
    ) -> Tensor:
        """``sum_parts sign <a_part, b_part>`` per unit, in float64: shape ``(n_units,)``."""
        va, vb = self.views(a), self.views(b)
        if signed:
            return self.sum_views(va, vb)
        return sum((x * y).sum(1) for x, y in zip(va, vb, strict=True))

    def charges(self, params: Mapping[str, Tensor]) -> Tensor:
        """Every unit's charge at ``params`` (name -> tensor), float64, shape ``(n_units,)``."""
        return self.charges_and_magnitudes(self.views(params))[0]

    def magnitudes(self, params: Mapping[str, Tensor]) -> Tensor:
        """The size each charge is measured against, float64, shape ``(n_units,)``.

        ``sum |theta_A|`` for a translation, ``|theta_A1|^2 + |theta_A2|^2``
        for scale and rescale (so that a rescale charge near zero is not
        divided by zero).
        """
        return self.charges_and_magnitudes(self.views(params))[1]

    def charges_and_magnitudes(self, views: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """:meth:`charges` and :meth:`magnitudes` from the parameters' :meth:`views`."""
        if not self.quadratic:
            return self.sum_views(views), sum(x.abs().sum(1) for x in views)
        sq = [(x * x).sum(1) for x in views]
        charge = sum(p.sign * q for p, q in zip(self.parts, sq, strict=True))
        return charge, sum(sq)

    def stacked(self, *tensors: Mapping[str, Tensor]) -> Tensor:
        """Several name -> tensor maps as one float64 array of shape ``(k, n_units, m)``.

        Row ``i`` holds ``tensors[i]``'s slices of every part side by side;
        with :attr:`signs` every per-unit sum and inner product of :meth:`views`
        becomes one tensor operation.
        """
        with torch.no_grad():
            return self._stacked(*tensors)

    def _stacked(self, *tensors: Mapping[str, Tensor]) -> Tensor:
        return torch.stack([torch.cat(self._views(t), 1) for t in tensors])

    @property
    def signs(self) -> Tensor:
        """The sign of every column of :meth:`stacked`, float64, shape ``(m,)``."""
        cols = [
            torch.full((math.prod(self.shapes[p.param]) // self.n_units,), float(p.sign))
            for p in self.parts
        ]
        return torch.cat(cols).double()

    def xi_norms(self, params: Mapping[str, Tensor]) -> Tensor:
        """``|xi|`` of every unit's generator, float64, shape ``(n_units,)``."""
        if not self.quadratic:
            sizes = sum(p.view(params[p.param]).shape[1] for p in self.parts)
            device = params[self.parts[0].param].device
            return torch.full((self.n_units,), math.sqrt(sizes), dtype=torch.float64, device=device)
        return self.magnitudes(params).sqrt()
