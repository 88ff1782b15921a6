"""Wrappers that make any model invariant or equivariant.

Each wrapper takes a model and the kinds of its inputs and outputs (symnet's
``point``, ``vector``, ``scalar``, ``global``; see :mod:`symnet.groups`). With
``out_kinds=None`` the wrapper is *invariant*: outputs are averaged as they
are. Otherwise outputs are transformed back (the *equivariant* version).

=================  ====================================  ======================
wrapper            symmetry                              forward passes per call
=================  ====================================  ======================
``Centered``       translations                          1
``GroupAveraged``  a finite group (all of S_N, or the    ``|G|`` (one batched
                   subgroup spanned by given elements)   call of ``|G| B`` rows)
``FrameAveraged``  rotations (and translations) via      ``2^(d-1)``: 4 for
                   PCA frames                            SO(3); ``2^d`` for O(d)
=================  ====================================  ======================

Group averaging (the Reynolds operator) ``f(x) = 1/|G| sum_g g^-1 f(g x)`` is
exact for any finite group. Frame averaging replaces the group by a small
input-dependent set of frames ``F(x)`` with ``F(g x) = g F(x)`` (Puny et al.
2022): for a point cloud, the principal axes of its covariance, up to the
signs of the axes.

References
----------
O. Puny, M. Atzmon, H. Ben-Hamu, I. Misra, A. Grover, E. J. Smith, Y. Lipman,
"Frame averaging for invariant and equivariant network design", ICLR 2022.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from symnet._util import check_finite, format_shape
from symnet.groups import (
    Element,
    Group,
    Kind,
    Permutation,
    Rotation,
    Translation,
    as_kind,
    take_element,
)
from symnet.nn._checks import call_model, check_rows, output_names

__all__ = ["Centered", "GroupAveraged", "FrameAveraged"]

#: Largest group that GroupAveraged enumerates by itself (7! = 5040 permutations).
MAX_ENUMERATED = 5040


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
