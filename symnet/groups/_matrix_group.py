"""Private abstract base of the linear matrix groups that move ``R^d`` by ``x -> M x``.

:class:`MatrixGroup` holds what :class:`~symnet.groups.Lorentz` and
:class:`~symnet.groups.Symplectic` share: a fixed basis of the Lie algebra
(generator matrices ``A`` of shape ``(d, d)``), elements that are batches of
``d x d`` matrices (composed by matrix products, ``exp(s A)`` by the matrix
exponential), the action on point / vector / axial / pseudoscalar tensors and
the refusal of e3nn irreps (representations of O(3), not of these groups).

A subclass sets, in ``__init__``, :attr:`dim` and the basis ``_names``,
``_mats`` (shape ``(k, d, d)``), and the class attributes below; it provides
``inverse``, ``_sample``, ``discrete_generators``, ``__repr__``,
``__reduce__``, ``_from_width`` and its docstrings. The base registers
nothing with :meth:`~symnet.groups.Group.by_name` (it passes no ``by_name``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from symnet._util import format_shape
from symnet.groups.generator import Generator
from symnet.groups.group import Element, Group
from symnet.groups.kinds import Kind

__all__ = ["MatrixGroup"]

_LINEAR = ("point", "vector", "axial")


class MatrixGroup(Group):
    """Abstract: a group of ``d x d`` matrices acting on the last axis of points and vectors.

    Subclasses set ``_unimodular = True`` when every element has determinant
    1 (axial vectors then transform as vectors, pseudoscalars are invariant);
    otherwise both pick up the sign of ``det M``.
    """

    dim: int
    _names: list[str]
    _mats: Tensor
    _unimodular: ClassVar[bool] = False
    #: Letter of the batch axis in the element-shape error message.
    _batch_letter: ClassVar[str] = "n"
    #: What the group acts on, for the irreps refusal and the configuration error.
    _vectors: ClassVar[str] = "vectors"
    #: Appended to "or a Rep" in the irreps refusal.
    _rep_of: ClassVar[str] = ""
    #: ``(what, d)`` in "acts on {what} and needs configuration shape (N, {d})".
    _config_needs: ClassVar[tuple[str, str]] = ("vectors", "d")

    @classmethod
    def _from_width(cls, d: int) -> Group | None:
        """The group for configurations ``(N, d)``, or None when ``d`` does not fit."""
        raise NotImplementedError

    @classmethod
    def from_config(
        cls,
        config_shape: tuple[int, ...],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Group:
        """The group acting on the last axis of configurations of shape ``S = (N, d)``.

        Raises
        ------
        ValueError
            ``S`` is not ``(N, d)`` with a width ``d`` the group acts on.
        """
        group = cls._from_width(int(config_shape[-1])) if len(config_shape) == 2 else None
        if group is None:
            what, d = cls._config_needs
            raise ValueError(
                f"symmetry {cls.name!r} acts on {what} and needs configuration "
                f"shape (N, {d}), got {config_shape}"
            )
        return group

    def supports_kind(self, kind: Kind) -> bool:
        """Everything but e3nn irreps (representations of O(3), not of this group)."""
        return kind.name != "irreps"

    # ---------------------------------------------------------------- generators
    def generator_names(self) -> list[str]:
        """The names of the Lie algebra basis, in generator order."""
        return list(self._names)

    def lie_algebra(self, dtype: torch.dtype = torch.float64) -> Tensor:
        """The generators' matrices, shape ``(k, d, d)``, in generator order."""
        return self._mats.to(dtype, copy=True)

    def generators(self, config_shape: Sequence[int]) -> list[Generator]:
        """The Lie algebra basis; each generator is linear with ``matrix`` set, shape ``(d, d)``."""
        gens = super().generators(config_shape)
        for g, m in zip(gens, self._mats, strict=True):
            g.matrix = m.clone()
        return gens

    def _matrix(self, name: str, like: Tensor) -> Tensor:
        """The generator's matrix ``A``, shape ``(d, d)``, in ``like``'s dtype and device."""
        return self._mats[self._names.index(name)].to(like)

    # ------------------------------------------------------------------ elements
    def _batch(self, g: Element) -> int:
        n = super()._batch(g)
        d, b = self.dim, self._batch_letter
        if g.dim() != 3 or tuple(g.shape[-2:]) != (d, d):
            raise ValueError(
                f"an element of {self!r} is a batch of {d}x{d} matrices of shape ({b}, {d}, {d}), "
                f"got {format_shape(g.shape)}"
            )
        return n

    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """Identity matrices, shape ``(n, d, d)``, float64."""
        return torch.eye(self.dim, dtype=torch.float64).expand(n, -1, -1).clone()

    def compose(self, g: Element, h: Element) -> Element:
        """The matrix product ``g h`` (batches of 1 broadcast)."""
        self._check_pair(g, h)
        g, h = self._promote(g, h)
        return g @ h

    def orthogonal_matrix(self, g: Element, dtype: torch.dtype = torch.float64) -> Tensor:
        """The matrices themselves, shape ``(n, d, d)`` (they move space linearly).

        Used by products with translations (``Translation(d) * G``), whose
        shifts are conjugated by the matrices.
        """
        self._batch(g)
        return g.to(dtype, copy=True)

    def exp(self, name: str | Generator, s: Tensor, config_shape: Sequence[int]) -> Element:
        """``matrix_exp(s A)`` for the generator's matrix ``A``, shape ``(n, d, d)``."""
        name = self._resolve(name)
        s = self._params(s)
        return torch.linalg.matrix_exp(s[:, None, None] * self._matrix(name, s))

    # ------------------------------------------------------------------- actions
    def _refuse(self, kind: Kind) -> None:
        raise ValueError(
            f"{self!r} cannot act on {kind}: e3nn irreps are representations of O(3); use "
            f"{self._vectors} (kind 'vector' or 'point', last axis {self.dim}) "
            f"or a Rep{self._rep_of}"
        )

    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name in _LINEAR:
            M = g.to(x)
            if kind.name == "axial" and not self._unimodular:
                M = M * torch.sign(torch.linalg.det(M))[:, None, None]
            return torch.einsum("n...j,n...ij->n...i", x, self._bcast(M, x, 2))
        if kind.name == "pseudoscalar" and not self._unimodular:
            return x * self._bcast(torch.sign(torch.linalg.det(g.to(x))), x, 0)
        if kind.name == "irreps":
            self._refuse(kind)
        return x.clone()

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name in _LINEAR:  # det = 1 near the identity: axial as vector
            return x @ self._matrix(name, x).T
        if kind.name == "irreps":
            self._refuse(kind)
        return torch.zeros_like(x)
