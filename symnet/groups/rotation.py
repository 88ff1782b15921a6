"""Proper rotations SO(d) about the origin.

Haar-distributed samples come from the QR decomposition of a Gaussian matrix
with the sign correction of F. Mezzadri, "How to generate random matrices from
the classical compact groups", Notices AMS 54 (2007). Irreps transform through
e3nn's Wigner D matrices of the same rotation matrix, computed to round-off by
:func:`symnet.groups.wigner.wigner_d`. Axial vectors transform as vectors
(``det R = 1``) and pseudoscalars are invariant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import torch
from torch import Tensor

from symnet.groups.generator import Generator
from symnet.groups.group import Element, Group
from symnet.groups.kinds import Kind
from symnet.groups.utils import default_dtype, particle_dim
from symnet.groups.wigner import irreps_lie, wigner_d

__all__ = ["wigner_d", "Rotation", "so_basis", "rotate_vectors", "default_dtype"]


def so_basis(dim: int, dtype: torch.dtype = torch.float64) -> tuple[list[str], Tensor]:
    """Names and matrices of the standard basis of so(d).

    For d = 2 the single generator ``rotation`` is ``[[0, -1], [1, 0]]``; for
    d = 3, ``rotation_a`` is ``L_a q = e_a x q`` (rotation about axis a); for
    d > 3, ``rotation_ij`` is ``E_ji - E_ij`` for ``i < j``.

    Returns
    -------
    names : list of str
    matrices : Tensor
        Shape ``(k, d, d)``, antisymmetric.
    """
    if dim == 2:
        return ["rotation"], torch.tensor([[[0.0, -1.0], [1.0, 0.0]]], dtype=dtype)
    if dim == 3:
        eps = torch.zeros(3, 3, 3, dtype=dtype)
        for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
            eps[a, b, c], eps[a, c, b] = 1.0, -1.0
        return ["rotation_x", "rotation_y", "rotation_z"], -eps
    names, mats = [], []
    for i in range(dim):
        for j in range(i + 1, dim):
            m = torch.zeros(dim, dim, dtype=dtype)
            m[j, i], m[i, j] = 1.0, -1.0
            names.append(f"rotation_{i}{j}")
            mats.append(m)
    return names, torch.stack(mats)


def rotate_vectors(R: Tensor, v: Tensor) -> Tensor:
    """``R v`` for batches of rotation matrices and vectors, in their common dtype.

    Parameters
    ----------
    R : Tensor
        Shape ``(n, d, d)``.
    v : Tensor
        Shape ``(n, d)``; either batch may be 1 and broadcasts.

    Returns
    -------
    Tensor
        Shape ``(max(n), d)``.
    """
    dtype = torch.promote_types(R.dtype, v.dtype)
    return (R.to(dtype) @ v.to(dtype)[..., None])[..., 0]


@lru_cache(maxsize=64)
def _irreps_generator(irreps_str: str, axis: int, dtype: torch.dtype) -> Tensor:
    """Lie algebra matrix of irreps for rotation about ``axis`` (x, y, z), exact to round-off."""
    return irreps_lie(irreps_str, so_basis(3, dtype)[1][axis])


class Rotation(Group, by_name="rotation"):
    """Proper rotations ``q_i -> R q_i`` of every particle about the origin, SO(d).

    Acts on ``point`` and ``vector`` tensors (last axis) and, for d = 3, on
    e3nn irreps; scalars and globals are invariant. Elements are rotation
    matrices of shape ``(n, d, d)``. :meth:`sample` is Haar-distributed.

    Parameters
    ----------
    dim : int
        Spatial dimension (2 or 3 for the contract's names; larger d works with
        generators ``rotation_ij``).

    Examples
    --------
    >>> from symnet.groups import Rotation
    >>> [g.name for g in Rotation(3).generators((5, 3))]
    ['rotation_x', 'rotation_y', 'rotation_z']
    >>> Rotation(2).generator_names()
    ['rotation']
    """

    name = "rotation"
    charge_symbol = "L"
    orthogonal: ClassVar[bool] = True

    def __init__(self, dim: int) -> None:
        if not isinstance(dim, int) or dim < 2:
            raise ValueError(f"dim must be an int >= 2, got {dim!r}")
        self.dim = dim
        self._names, self._mats = so_basis(dim)

    @classmethod
    def from_config(
        cls,
        config_shape: tuple[int, ...],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Group:
        """``Rotation(d)`` for ``S = (N, d)``."""
        return cls(particle_dim("rotation", config_shape))

    def supports_kind(self, kind: Kind) -> bool:
        """e3nn irreps need ``Rotation(3)``; points and vectors fit every ``d``."""
        return kind.name != "irreps" or self.dim == 3

    def __repr__(self) -> str:
        return f"Rotation({self.dim})"

    def generator_names(self) -> list[str]:
        """``rotation`` (d = 2); ``rotation_x``, ``_y``, ``_z`` (d = 3); else ``rotation_ij``."""
        return list(self._names)

    def lie_algebra(self, dtype: torch.dtype = torch.float64) -> Tensor:
        """The generators' matrices on the defining representation, shape ``(k, d, d)``."""
        return self._mats.to(dtype, copy=True)

    def generators(self, config_shape: Sequence[int]) -> list[Generator]:
        """The so(d) basis; each generator is linear with ``matrix`` set, shape ``(d, d)``."""
        gens = super().generators(config_shape)
        for g, m in zip(gens, self._mats, strict=True):
            g.matrix = m.clone()
        return gens

    def _matrix(self, name: str, like: Tensor) -> Tensor:
        return self._mats[self._names.index(name)].to(like)

    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """Identity matrices, shape ``(n, d, d)``, float64."""
        return torch.eye(self.dim, dtype=torch.float64).expand(n, -1, -1).clone()

    def compose(self, g: Element, h: Element) -> Element:
        """The matrix product ``g h`` (batches of 1 broadcast)."""
        self._check_pair(g, h)
        g, h = self._promote(g, h)
        return g @ h

    def inverse(self, g: Element) -> Element:
        """The transpose ``g^T``."""
        self._batch(g)
        return g.transpose(-1, -2).clone()

    def orthogonal_matrix(self, g: Element, dtype: torch.dtype = torch.float64) -> Tensor:
        """The rotation matrices themselves, shape ``(n, d, d)``."""
        self._batch(g)
        return g.to(dtype, copy=True)

    def conjugated_by(self, other: Group) -> bool:
        """True for another orthogonal group that is not normal (reflections): ``M R M^-1``."""
        return other.orthogonal and not other.normal and type(other) is not type(self)

    def conjugate(self, g: Element, by: Group, h: Element) -> Element:
        """``M g M^T`` for the orthogonal matrix ``M`` of ``h`` (unchanged if ``by`` has none)."""
        M = by.orthogonal_matrix(h, torch.promote_types(g.dtype, torch.float64))
        if M is None:
            return g
        g, M = self._promote(g, M)
        return M @ g @ M.transpose(-1, -2)

    def _sample(
        self, n: int, config_shape: tuple[int, ...], gen: torch.Generator | None
    ) -> Element:
        """``n`` Haar-random rotation matrices, shape ``(n, d, d)``, float64."""
        z = torch.randn(n, self.dim, self.dim, generator=gen, dtype=torch.float64)
        q, r = torch.linalg.qr(z)
        q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
        flip = torch.linalg.det(q) < 0
        q[flip, :, 0] = -q[flip, :, 0]
        return q

    def exp(self, name: str | Generator, s: Tensor, config_shape: Sequence[int]) -> Element:
        """``matrix_exp(s A)`` for the generator's matrix ``A``, shape ``(n, d, d)``."""
        name = self._resolve(name)
        s = self._params(s)
        return torch.linalg.matrix_exp(s[:, None, None] * self._matrix(name, s))

    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name in ("point", "vector", "axial"):
            return torch.einsum("n...j,n...ij->n...i", x, self._bcast(g.to(x), x, 2))
        if kind.name == "irreps":
            self._need_3d(kind)
            D = wigner_d(kind.irreps, g.to(x))
            return torch.einsum("n...j,n...ij->n...i", x, self._bcast(D, x, 2))
        return x.clone()

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name in ("point", "vector", "axial"):
            return x @ self._matrix(name, x).T
        if kind.name == "irreps":
            self._need_3d(kind)
            X = _irreps_generator(str(kind.irreps), self._names.index(name), torch.float64)
            return x @ X.to(x).T
        return torch.zeros_like(x)

    def _need_3d(self, kind: Kind) -> None:
        if self.dim != 3:
            raise ValueError(f"{self!r} cannot act on {kind}: e3nn irreps need Rotation(3)")
