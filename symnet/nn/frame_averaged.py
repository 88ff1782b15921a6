"""Rotation invariance by averaging over PCA frames: the :class:`FrameAveraged` wrapper.

The frames are the principal axes of the covariance of one input, up to the
signs of the axes (Puny et al. 2022); the model is evaluated in each frame,
as one call on ``|F| B`` rows, and the outputs mapped back and averaged.

References
----------
O. Puny, M. Atzmon, H. Ben-Hamu, I. Misra, A. Grover, E. J. Smith, Y. Lipman,
"Frame averaging for invariant and equivariant network design", ICLR 2022.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet._util import check_finite
from symnet.groups import Rotation, Translation
from symnet.nn._checks import call_model, check_rows
from symnet.nn._wrapper import _as_tuple, _check_count, _check_dim, _Wrapper

__all__ = ["FrameAveraged"]


def _sign_patterns(d: int, improper: bool) -> Tensor:
    """Signs of the principal axes, shape ``(F, d)``.

    All ``2^d`` patterns, or the ``2^(d-1)`` with product +1 (proper frames, once
    the first axis is flipped by ``det U``).
    """
    s = torch.tensor(list(itertools.product([1.0, -1.0], repeat=d)))
    return s if improper else s[s.prod(-1) > 0]


class FrameAveraged(_Wrapper):
    """Rotation invariance by averaging over PCA frames (Puny et al. 2022).

    The frame input ``X`` (shape ``(..., N, d)``, kind point) is centred at its
    centroid ``c`` (``center=True``) and its covariance ``(X - c)^T (X - c)``
    diagonalised, ``U`` holding the principal axes as columns. The frames are
    ``R = U diag(s)`` for the sign patterns ``s`` with ``det R = +1`` (SO(d):
    ``2^(d-1)`` frames, 4 in 3-D) or all ``2^d`` (``improper=True``, O(d): 8 in
    3-D). Inputs enter the model in frame coordinates (points ``R^T (x - c)``,
    vectors ``R^T v``, scalars and globals unchanged) and outputs are mapped
    back (points ``R y + c``, vectors ``R y``), then averaged. Since ``F(Q X) =
    Q F(X)`` as a set, the result is invariant (equivariant) under rotations and,
    with ``center=True``, translations. Cost: one forward pass per frame, made
    as one call of the model on ``|F| B`` rows.

    **Limitation.** Frames are defined only for distinct covariance
    eigenvalues. At a degenerate spectrum (e.g. a regular tetrahedron, or fewer
    than ``d`` points) the principal axes are arbitrary within an eigenspace
    and the average is not equivariant there; near one, the output and its
    gradients vary rapidly (like ``1 / gap``). Such inputs have measure zero.

    Parameters
    ----------
    model : callable
        ``model(*inputs)`` returning a tensor or a tuple of tensors.
    in_kinds : kind or tuple of kinds
        One per input: ``"point"``, ``"vector"``, ``"scalar"`` or ``"global"``.
    out_kinds : kind or tuple of kinds, optional
        One per output; ``None`` for the invariant version.
    improper : bool
        Average over O(d) (reflections too) instead of SO(d).
    center : bool
        Centre the frame at the centroid (translations too). Without it the
        frame diagonalises ``X^T X`` and points keep their origin.
    frame_input : int, optional
        Index of the input that defines the frame; default the first point
        input (else the first vector input).
    dim : int
        Spatial dimension ``d`` of the declared :attr:`group` (default 3).

    Attributes
    ----------
    group : Group
        ``Translation(d) * Rotation(d)`` when the frame is centred at the
        centroid of a point input, else ``Rotation(d)``: the symmetry the
        wrapper guarantees, whatever the model. With ``improper=True`` the
        average is also invariant under reflections, which the declaration
        (SO(d)) does not state.
    in_kinds, out_kinds : tuple of Kind
        As given (``out_kinds`` ``None``: invariant), read by
        :func:`~symnet.testing.assert_equivariant`.

    Examples
    --------
    >>> import torch
    >>> model = FrameAveraged(lambda q: q[..., 0, :1], "point")  # first x coordinate
    >>> model(torch.randn(2, 5, 3)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        model: Callable[..., Any],
        in_kinds: Any = "point",
        out_kinds: Any = None,
        *,
        improper: bool = False,
        center: bool = True,
        frame_input: int | None = None,
        dim: int = 3,
    ) -> None:
        super().__init__(model, in_kinds, out_kinds)
        assert self.in_kinds is not None
        names = [k.name for k in self.in_kinds]
        if frame_input is None:
            kind = "point" if "point" in names else "vector"
            if kind not in names:
                raise ValueError("FrameAveraged needs an input of kind 'point' or 'vector'")
            frame_input = names.index(kind)
        if names[frame_input] not in ("point", "vector"):
            raise ValueError(f"the frame input {frame_input} must be a point or vector input")
        self.frame_input = frame_input
        self.improper, self.center = bool(improper), bool(center)
        self.dim = _check_dim(dim)
        centred = self.center and names[frame_input] == "point"
        rotation = Rotation(self.dim)
        self.group = Translation(self.dim) * rotation if centred else rotation

    def frames(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The frames of ``x`` and its centre.

        Parameters
        ----------
        x : Tensor
            Shape ``(..., N, d)``.

        Returns
        -------
        R : Tensor
            Shape ``(F, ..., d, d)``, rotation (or orthogonal) matrices, axes as columns.
        c : Tensor
            Shape ``(..., 1, d)`` (zeros when ``center=False`` or for vectors).
        """
        point = self.in_kinds is not None and self.in_kinds[self.frame_input].name == "point"
        c = x.mean(-2, keepdim=True) if self.center and point else torch.zeros_like(x[..., :1, :])
        xc = x - c
        # eigh and det have no float16/bfloat16 kernels: frames of 16-bit inputs in float32
        work = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
        xw = xc.to(work)
        try:
            _, U = torch.linalg.eigh(xw.transpose(-1, -2) @ xw)
        except torch.linalg.LinAlgError as err:
            check_finite(x, f"inputs[{self.frame_input}]")  # names NaN/inf in the frame input
            raise ValueError(
                f"FrameAveraged could not diagonalise the covariance of inputs[{self.frame_input}] "
                f"({err})"
            ) from err
        s = _sign_patterns(x.shape[-1], self.improper).to(U)
        if not self.improper:  # flip the first axis where det U = -1
            first = torch.ones_like(U[..., 0, :])
            first[..., 0] = torch.linalg.det(U)
            U = U * first.unsqueeze(-2)
        R = U.unsqueeze(0) * s.reshape(-1, *([1] * (U.dim() - 2)), 1, s.shape[-1])
        return R.to(x.dtype), c

    def forward(self, *xs: Tensor) -> Tensor | tuple[Tensor, ...]:
        """Evaluate the frame average; shapes as the model's."""
        kinds = self._inputs(xs)
        R, c = self.frames(xs[self.frame_input])
        n = R.shape[0]
        moved = []
        for x, k in zip(xs, kinds, strict=True):
            if k.name == "point":
                moved.append(((x - c).unsqueeze(0) @ R).flatten(0, 1))
            elif k.name == "vector":
                moved.append((x.unsqueeze(0) @ R).flatten(0, 1))
            else:
                moved.append(x.unsqueeze(0).expand(n, *x.shape).flatten(0, 1))
        outs, single = _as_tuple(call_model(self.model, moved))
        if self.out_kinds is not None:
            _check_count(self.out_kinds, len(outs), "out_kinds")
        rows = int(moved[0].shape[0])
        why = f"calls the model once on {n} frames x {rows // n} rows = {rows} rows"
        check_rows(outs, rows, type(self).__name__, why)
        averaged = []
        for j, y in enumerate(outs):
            y = y.reshape(n, -1, *y.shape[1:])
            kind = None if self.out_kinds is None else self.out_kinds[j].name
            if kind in ("point", "vector"):
                y = y @ R.transpose(-1, -2)
                y = y + c if kind == "point" else y
            averaged.append(y.mean(0))
        return self._finish(tuple(averaged), single)

    def extra_repr(self) -> str:
        """Frames, centring, kinds."""
        group = ("O" if self.improper else "SO") + "(d)"
        return f"{group}, center={self.center}, {super().extra_repr()}"
