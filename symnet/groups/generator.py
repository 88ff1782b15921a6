"""One-parameter symmetries: the :class:`Generator`.

A continuous symmetry is a vector field ``xi(q, t)`` on configuration space,
a time component ``tau`` (1 for a time shift) and an optional boundary term
``F(q, t)`` for quasi-symmetries (Galilean boosts). Everything else, the Lie
derivative, the velocity prolongation and the Noether charge, is derived from
it with ``torch.func`` (see E. Noether 1918; P. J. Olver, *Applications of Lie
Groups to Differential Equations*, 1993, ch. 4-5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.func import jvp

from symnet._util import check_tensor, format_shape, time_like, with_time

if TYPE_CHECKING:
    from symnet.groups.group import Group

__all__ = ["Generator"]


def _state(q: Tensor, qdot: Tensor, t: Tensor | float | None) -> tuple[Tensor, Tensor, Tensor]:
    """Validate a state ``(q, qdot, t)``: equal shapes ``(B, *S)``, time ``(B,)``."""
    q = check_tensor(q, "q", ndim_min=1, finite=False)
    qdot = check_tensor(qdot, "qdot", ndim_min=1, finite=False)
    if qdot.shape != q.shape:
        raise ValueError(
            f"qdot must have the shape of q {format_shape(q.shape)}, got {format_shape(qdot.shape)}"
        )
    return q, qdot.to(q.dtype), time_like(t, q)


class Generator:
    """An infinitesimal (quasi-)symmetry: ``t -> t + eps tau``, ``q -> q + eps xi(q, t)``.

    Parameters
    ----------
    name : str
        Name used in reports, e.g. ``"rotation_z"``.
    xi : callable
        ``xi(q)`` or ``xi(q, t)`` with ``q`` of shape ``(B, *S)`` and ``t`` of
        shape ``(B,)``, returning shape ``(B, *S)``. Must be differentiable
        with ``torch.func`` (plain tensor code is).
    tau : float
        Time component: 1.0 for a time shift, 0.0 for a point symmetry.
    boundary : callable, optional
        ``F(q)`` or ``F(q, t)`` returning ``(B,)``: the boundary term of a
        quasi-symmetry, ``delta L = dF/dt``. ``None`` means ``F = 0``.
    group : Group, optional
        The group this generator belongs to (set by the built-in groups).
    matrix, offset : Tensor, optional
        For affine generators ``xi(q) = q A^T + b`` on the last axis: ``A``
        of shape ``(d, d)`` and ``b`` of shape ``(d,)``.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Generator
    >>> g = Generator("shift_x", lambda q: torch.ones_like(q) * torch.tensor([1.0, 0.0]))
    >>> g(torch.zeros(4, 3, 2)).shape
    torch.Size([4, 3, 2])
    """

    def __init__(
        self,
        name: str,
        xi: Callable[..., Tensor],
        tau: float = 0.0,
        boundary: Callable[..., Tensor] | None = None,
        *,
        group: Group | None = None,
        matrix: Tensor | None = None,
        offset: Tensor | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        if not callable(xi):
            raise TypeError(f"xi must be callable xi(q) or xi(q, t), got {type(xi).__name__}")
        if boundary is not None and not callable(boundary):
            raise TypeError(f"boundary must be callable F(q) or F(q, t), got {type(boundary)}")
        self.name = name
        self.tau = float(tau)
        self.group = group
        self.matrix = matrix
        self.offset = offset
        self._xi = with_time(xi, 1)
        self._boundary = None if boundary is None else with_time(boundary, 1)

    @classmethod
    def linear(
        cls,
        name: str,
        A: Tensor,
        b: Tensor | None = None,
        *,
        tau: float = 0.0,
        boundary: Callable[..., Tensor] | None = None,
    ) -> Generator:
        """Affine generator ``xi(q) = q A^T + b`` acting on the last axis of ``q``.

        Parameters
        ----------
        name : str
            Generator name.
        A : Tensor
            Shape ``(d, d)``; ``d`` must equal the last dimension of ``q``.
        b : Tensor, optional
            Shape ``(d,)``.

        Examples
        --------
        >>> import torch
        >>> from symnet.groups import Generator
        >>> J = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
        >>> rot = Generator.linear("rotation", J)
        >>> rot(torch.tensor([[[1.0, 0.0]]]))
        tensor([[[0., 1.]]])
        """
        A = check_tensor(torch.as_tensor(A), "A", ndim_min=2)
        if A.dim() != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(
                f"A must be a square matrix of shape (d, d), got {format_shape(A.shape)}"
            )
        d = A.shape[0]
        if b is not None:
            b = check_tensor(torch.as_tensor(b, dtype=A.dtype), "b", ndim_min=1)
            if b.shape != (d,):
                raise ValueError(
                    f"b must have shape ({d},) to match A, got {format_shape(b.shape)}"
                )

        def xi(q: Tensor) -> Tensor:
            if q.shape[-1] != d:
                raise ValueError(
                    f"generator {name!r} acts on vectors of size {d}, but q has shape "
                    f"{format_shape(q.shape)}"
                )
            out = q @ A.to(q).T
            return out if b is None else out + b.to(q)

        return cls(name, xi, tau=tau, boundary=boundary, matrix=A, offset=b)

    # ------------------------------------------------------------------ evaluation
    def xi(self, q: Tensor, t: Tensor | float | None = None) -> Tensor:
        """The vector field at ``q``.

        Parameters
        ----------
        q : Tensor
            Shape ``(B, *S)``.
        t : Tensor or float, optional
            Shape ``(B,)`` or scalar; default 0.

        Returns
        -------
        Tensor
            Shape ``(B, *S)``.
        """
        q = check_tensor(q, "q", ndim_min=1, finite=False)
        out = self._xi(q, time_like(t, q))
        if not isinstance(out, Tensor) or out.shape != q.shape:
            got = format_shape(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(
                f"generator {self.name!r}: xi must return the shape of q "
                f"{format_shape(q.shape)}, got {got}"
            )
        return out

    __call__ = xi

    def boundary(self, q: Tensor, t: Tensor | float | None = None) -> Tensor:
        """The boundary term ``F(q, t)``, shape ``(B,)`` (zeros when there is none)."""
        q = check_tensor(q, "q", ndim_min=1, finite=False)
        t = time_like(t, q)
        if self._boundary is None:
            return torch.zeros(q.shape[0], dtype=q.dtype, device=q.device)
        out = self._boundary(q, t)
        if not isinstance(out, Tensor) or out.shape != (q.shape[0],):
            raise ValueError(
                f"generator {self.name!r}: boundary must return shape ({q.shape[0]},), got "
                f"{format_shape(out.shape) if isinstance(out, Tensor) else type(out).__name__}"
            )
        return out

    @property
    def charge_label(self) -> str:
        """A short name of the generator's Noether charge.

        ``P_x`` (translations), ``L_z`` (rotations), ``-E`` (time shift),
        ``K_x`` (boosts), from the owning group's
        :attr:`~symnet.groups.Group.charge_symbol`; ``J[name]`` for a generator
        without a group or whose group has no symbol.

        Examples
        --------
        >>> from symnet.groups import Rotation
        >>> [g.charge_label for g in Rotation(3).generators((2, 3))]
        ['L_x', 'L_y', 'L_z']
        """
        if self.group is None:
            return f"J[{self.name}]"
        return self.group.charge_label(self.name)

    @property
    def has_boundary(self) -> bool:
        """Whether the generator is a quasi-symmetry with a boundary term."""
        return self._boundary is not None

    def prolong(
        self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None
    ) -> tuple[Tensor, Tensor]:
        """The generator and its velocity prolongation, in one ``jvp``.

        ``xidot = D xi(q) qdot + d_t xi(q, t)``.

        Parameters
        ----------
        q, qdot : Tensor
            Shape ``(B, *S)``.
        t : Tensor or float, optional
            Shape ``(B,)``.

        Returns
        -------
        xi, xidot : Tensor
            Both of shape ``(B, *S)``.
        """
        q, qdot, t = _state(q, qdot, t)
        return jvp(lambda q_, t_: self.xi(q_, t_), (q, t), (qdot, torch.ones_like(t)))

    def boundary_rate(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """Total time derivative ``dF/dt = dF/dq . qdot + d_t F``, shape ``(B,)``."""
        q, qdot, t = _state(q, qdot, t)
        if self._boundary is None:
            return torch.zeros(q.shape[0], dtype=q.dtype, device=q.device)
        return jvp(lambda q_, t_: self.boundary(q_, t_), (q, t), (qdot, torch.ones_like(t)))[1]

    def __repr__(self) -> str:
        parts = [repr(self.name)]
        if self.tau:
            parts.append(f"tau={self.tau:g}")
        if self._boundary is not None:
            parts.append("boundary=...")
        if self.group is not None:
            parts.append(f"group={self.group!r}")
        return f"Generator({', '.join(parts)})"

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (name, tau, group, affine parts if any)."""
        out: dict[str, Any] = {"name": self.name, "tau": self.tau}
        out["group"] = None if self.group is None else repr(self.group)
        if self.matrix is not None:
            out["matrix"] = self.matrix.tolist()
        if self.offset is not None:
            out["offset"] = self.offset.tolist()
        out["boundary"] = self._boundary is not None
        return out
