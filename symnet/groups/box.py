"""An orthorhombic periodic box: wrapping positions and minimum-image displacements.

A periodic box of side lengths ``L = (L_1, ..., L_d)`` identifies ``x`` with
``x + n * L`` for every integer vector ``n``: configuration space is a torus.
Translations act on it (positions are wrapped back into the box, see
:class:`~symnet.groups.Translation` with ``box=``), rotations do not (the box
has preferred axes), so a periodic system conserves total momentum but not
angular momentum.

Examples
--------
>>> import torch
>>> from symnet.groups import PeriodicBox
>>> box = PeriodicBox([4.0, 2.0])
>>> box.wrap(torch.tensor([[5.0, -0.5]]))
tensor([[1.0000, 1.5000]])
>>> box.minimum_image(torch.tensor([[3.0, 0.5]]))
tensor([[-1.0000,  0.5000]])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = ["PeriodicBox"]


def _positive_finite(value: Any, name: str) -> float:
    """``value`` as a float, or ValueError naming ``name`` unless positive and finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a positive finite float, got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite float, got {value!r}")
    return v


class PeriodicBox:
    """An orthorhombic periodic box ``[0, L_1) x ... x [0, L_d)``.

    Parameters
    ----------
    lengths : float or sequence of float or Tensor
        Side lengths: one positive float for a cubic box (then ``dim`` is
        required), or ``d`` positive finite floats (a sequence or a 1-d tensor;
        the tensor is copied, never modified).
    dim : int, optional
        Spatial dimension ``d``; required for a cubic box, checked against
        ``len(lengths)`` otherwise.

    Attributes
    ----------
    lengths : Tensor
        Side lengths, float64, CPU, shape ``(d,)``. The methods cast it to the
        dtype and device of their input.
    dim : int
        Spatial dimension ``d``.
    volume : float
        ``prod(lengths)`` (an area in 2-D).

    Notes
    -----
    The minimum-image displacement is the shortest periodic image only while
    interactions reach no further than half the smallest side; use
    :meth:`check_cutoff` to validate a cutoff.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import PeriodicBox
    >>> box = PeriodicBox(10.0, dim=3)
    >>> box
    PeriodicBox([10.0, 10.0, 10.0])
    >>> box.volume
    1000.0
    >>> a, b = torch.tensor([[9.5, 0.0, 0.0]]), torch.tensor([[0.5, 0.0, 0.0]])
    >>> box.displacement(a, b)
    tensor([[-1.,  0.,  0.]])
    """

    def __init__(self, lengths: float | Sequence[float] | Tensor, dim: int | None = None) -> None:
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
            raise ValueError(f"dim must be a positive int or None, got {dim!r}")
        values = self._parse_lengths(lengths, dim)
        self.lengths: Tensor = torch.tensor(values, dtype=torch.float64)
        self.dim: int = len(values)
        self.volume: float = math.prod(values)
        self._values: tuple[float, ...] = tuple(values)
        self._cast: dict[tuple[torch.dtype, torch.device], Tensor] = {}

    @staticmethod
    def _parse_lengths(lengths: Any, dim: int | None) -> list[float]:
        if isinstance(lengths, Tensor):
            if lengths.dim() > 1 or lengths.is_complex():
                raise ValueError(
                    "lengths must be a positive float or a 1-d tensor of d positive floats, "
                    f"got a tensor of shape {tuple(lengths.shape)} and dtype {lengths.dtype}"
                )
            lengths = lengths.item() if lengths.dim() == 0 else lengths.detach().cpu().tolist()
        if isinstance(lengths, (int, float)) and not isinstance(lengths, bool):
            if dim is None:
                raise ValueError(
                    f"dim must be given for a cubic box (one length {lengths!r}), "
                    "e.g. PeriodicBox(10.0, dim=3)"
                )
            return [_positive_finite(lengths, "lengths")] * dim
        if isinstance(lengths, (str, bytes)) or not isinstance(lengths, Sequence):
            raise ValueError(
                "lengths must be a positive float or a sequence of d positive floats, "
                f"got {lengths!r}"
            )
        if len(lengths) == 0:
            raise ValueError("lengths must hold at least one side length, got an empty sequence")
        if dim is not None and len(lengths) != dim:
            raise ValueError(f"lengths must hold dim={dim} side lengths, got {len(lengths)}")
        return [_positive_finite(v, f"lengths[{i}]") for i, v in enumerate(lengths)]

    def _lengths_like(self, x: Tensor, name: str) -> Tensor:
        """The side lengths cast to ``x``'s dtype and device, after checking ``x``."""
        if not isinstance(x, Tensor):
            raise ValueError(
                f"{name} must be a torch.Tensor of shape (..., {self.dim}), got {type(x).__name__}"
            )
        if not x.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
        if x.dim() == 0 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{name} must have shape (..., {self.dim}) for a {self.dim}-d box, "
                f"got {tuple(x.shape)}"
            )
        key = (x.dtype, x.device)
        L = self._cast.get(key)
        if L is None:
            L = self._cast[key] = self.lengths.to(dtype=x.dtype, device=x.device)
        return L

    def wrap(self, x: Tensor) -> Tensor:
        """Positions wrapped into the box: each coordinate into ``[0, L_a)``.

        Differentiable, with gradient 1 (the wrap is a piecewise translation).

        Parameters
        ----------
        x : Tensor
            Positions, shape ``(..., d)``, floating point; not modified.

        Returns
        -------
        Tensor
            Same shape and dtype as ``x``, every coordinate in ``[0, L_a)``
            (a coordinate on the upper face ``L_a`` maps to 0).

        Examples
        --------
        >>> import torch
        >>> from symnet.groups import PeriodicBox
        >>> PeriodicBox(2.0, dim=1).wrap(torch.tensor([[-3.0], [2.0], [1.5]]))
        tensor([[1.0000],
                [0.0000],
                [1.5000]])
        """
        L = self._lengths_like(x, "x")
        r = x - L * torch.floor(x / L)  # faster than torch.remainder on CPU
        # round-off can leave r just outside [0, L); both corrections are exact
        r = torch.where(r < 0, r + L, r)
        return torch.where(r >= L, r - L, r)

    def minimum_image(self, dx: Tensor) -> Tensor:
        """Displacements mapped to their nearest periodic image: ``dx - L * round(dx / L)``.

        Each coordinate lands in ``[-L_a / 2, L_a / 2)`` (a half-length maps to
        ``-L_a / 2``). Differentiable, with gradient 1 away from the jump at
        ``+-L_a / 2``.

        Parameters
        ----------
        dx : Tensor
            Displacements, shape ``(..., d)``, floating point; not modified.

        Returns
        -------
        Tensor
            Same shape and dtype as ``dx``.

        Examples
        --------
        >>> import torch
        >>> from symnet.groups import PeriodicBox
        >>> PeriodicBox(2.0, dim=1).minimum_image(torch.tensor([[1.5], [-1.0], [1.0]]))
        tensor([[-0.5000],
                [-1.0000],
                [-1.0000]])
        """
        L = self._lengths_like(dx, "dx")
        r = dx - L * torch.floor(dx / L + 0.5)
        half = 0.5 * L
        # round-off can leave r just outside [-L/2, L/2); both corrections are exact
        r = torch.where(r >= half, r - L, r)
        return torch.where(r < -half, r + L, r)

    def displacement(self, a: Tensor, b: Tensor) -> Tensor:
        """The minimum-image displacement ``minimum_image(a - b)`` from ``b`` to ``a``.

        Parameters
        ----------
        a, b : Tensor
            Positions, shapes broadcastable to ``(..., d)``; not modified.

        Returns
        -------
        Tensor
            Shape ``broadcast(a, b).shape``.

        Examples
        --------
        >>> import torch
        >>> from symnet.groups import PeriodicBox
        >>> PeriodicBox(10.0, dim=2).displacement(
        ...     torch.tensor([0.5, 1.0]), torch.tensor([9.5, 2.0])
        ... )
        tensor([ 1., -1.])
        """
        for name, v in (("a", a), ("b", b)):
            self._lengths_like(v, name)
        return self.minimum_image(a - b)

    def check_cutoff(self, cutoff: float, name: str = "cutoff") -> float:
        """``cutoff`` as a float, checked against the box: ``0 < cutoff <= min(L) / 2``.

        Beyond half the smallest side a particle can interact with more than
        one image of another, and minimum-image distances are no longer exact.

        Parameters
        ----------
        cutoff : float
            Interaction range to check.
        name : str
            Name of the argument, used in the error message.

        Raises
        ------
        ValueError
            ``cutoff`` is not a positive finite number, or exceeds ``min(L) / 2``.

        Examples
        --------
        >>> from symnet.groups import PeriodicBox
        >>> PeriodicBox([6.0, 8.0]).check_cutoff(3.0)
        3.0
        """
        if isinstance(cutoff, Tensor) and cutoff.numel() == 1:
            cutoff = cutoff.item()
        c = _positive_finite(cutoff, name)
        limit = 0.5 * min(self._values)
        if c > limit:
            raise ValueError(
                f"{name} must be at most half the smallest box length ({limit!r}) for "
                f"minimum-image distances to be exact, got {cutoff!r} in {self!r}"
            )
        return c

    def __repr__(self) -> str:
        return f"PeriodicBox({list(self._values)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PeriodicBox):
            return NotImplemented
        return self._values == other._values

    def __hash__(self) -> int:
        return hash(("PeriodicBox", self._values))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cast"] = {}
        return state
