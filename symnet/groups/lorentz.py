"""The Lorentz group O(1,3), and its identity component SO+(1,3), on 4-vectors.

Four-vectors are ``x = (x^0, x^1, x^2, x^3) = (ct, x, y, z)`` with the
Minkowski metric ``eta = diag(1, -1, -1, -1)``; an element is a matrix
``Lambda`` with ``Lambda^T eta Lambda = eta``, acting as ``x -> Lambda x``.
The Lie algebra so(1,3) has six generators ``A`` (``A^T eta + eta A = 0``):
three boosts ``K_i = E_0i + E_i0`` and three rotations ``J_a`` acting on the
spatial block as so(3) (:func:`symnet.groups.rotation.so_basis`). They close
as ``[J_a, J_b] = eps_abc J_c``, ``[J_a, K_b] = eps_abc K_c`` and
``[K_a, K_b] = -eps_abc J_c``. O(1,3) has four components, reached from
SO+(1,3) by parity ``P = diag(1, -1, -1, -1)`` and time reversal
``T = diag(-1, 1, 1, 1)``.

On tensors: points and vectors (last axis 4) ``x -> Lambda x``; axial
4-vectors ``a -> det(Lambda) Lambda a``; pseudoscalars ``s -> det(Lambda) s``;
scalars, globals, times, labels and indices are invariant. e3nn irreps are
representations of O(3), not of the Lorentz group, and are refused.
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
from symnet.groups.rotation import Rotation, so_basis

__all__ = ["Lorentz", "lorentz_basis", "minkowski_metric"]

_NAMES = ["boost_x", "boost_y", "boost_z", "rotation_x", "rotation_y", "rotation_z"]


def minkowski_metric(dtype: torch.dtype = torch.float64) -> Tensor:
    """The Minkowski metric ``eta = diag(1, -1, -1, -1)``, shape ``(4, 4)``.

    Examples
    --------
    >>> from symnet.groups.lorentz import minkowski_metric
    >>> minkowski_metric().diagonal()
    tensor([ 1., -1., -1., -1.], dtype=torch.float64)
    """
    return torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=dtype))


def lorentz_basis(dtype: torch.dtype = torch.float64) -> tuple[list[str], Tensor]:
    """Names and matrices of the standard basis of so(1,3).

    Returns
    -------
    names : list of str
        ``boost_x, boost_y, boost_z, rotation_x, rotation_y, rotation_z``.
    matrices : Tensor
        Shape ``(6, 4, 4)``: ``K_i = E_0i + E_i0`` (symmetric) and the so(3)
        rotations ``J_a`` on the spatial block (antisymmetric).

    Examples
    --------
    >>> from symnet.groups.lorentz import lorentz_basis, minkowski_metric
    >>> names, A = lorentz_basis()
    >>> eta = minkowski_metric()
    >>> bool((A.transpose(-1, -2) @ eta + eta @ A).abs().max() == 0)
    True
    """
    mats = torch.zeros(6, 4, 4, dtype=dtype)
    for i in range(3):
        mats[i, 0, i + 1] = mats[i, i + 1, 0] = 1.0
    mats[3:, 1:, 1:] = so_basis(3, dtype)[1]
    return list(_NAMES), mats


class Lorentz(Group, by_name="lorentz"):
    """The Lorentz group O(1,3) (``proper=True``: SO+(1,3)) acting on 4-vectors ``(ct, x, y, z)``.

    Elements are matrices ``Lambda`` of shape ``(n, 4, 4)`` (float64) with
    ``Lambda^T eta Lambda = eta``, ``eta = diag(1, -1, -1, -1)``
    (:meth:`metric`). Acts on ``point`` and ``vector`` tensors whose last axis
    is 4 (``x -> Lambda x``), so ``Vector(Lorentz())`` is the 4-vector rep.
    Generators ``boost_x, boost_y, boost_z`` (charges ``K_x, ...``) and
    ``rotation_x, rotation_y, rotation_z`` (charges ``L_x, ...``).

    :meth:`sample` draws ``Lambda = B(r) R D``: a pure boost of rapidity
    vector ``r ~ N(0, 0.5^2 I_3)`` (:attr:`rapidity_scale`; ``|r|`` rarely
    exceeds 2, so ``cosh |r| < 4`` keeps round-off checks well conditioned),
    a Haar-random rotation ``R`` and, for O(1,3) only, ``D = P^a T^b`` with
    independent fair bits ``a, b`` (parity, time reversal).

    Parameters
    ----------
    proper : bool
        False (default): the full group O(1,3), with the discrete generators
        parity and time reversal. True: the identity component SO+(1,3)
        (proper orthochronous), without them.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Lorentz
    >>> G = Lorentz()
    >>> G.generator_names()[:3], G.charge_label("boost_x")
    (['boost_x', 'boost_y', 'boost_z'], 'K_x')
    >>> L = G.sample(5, (1, 4), rng=0)
    >>> eta = Lorentz.metric()
    >>> bool(torch.allclose(L.transpose(-1, -2) @ eta @ L, eta.expand(5, 4, 4), atol=1e-12))
    True
    >>> x = torch.tensor([[[1.0, 0.0, 0.0, 0.0]]])  # at rest, batch 1, one particle
    >>> G.act(G.exp("boost_x", torch.tensor([0.5]), (1, 4)), x, "vector")
    tensor([[[1.1276, 0.5211, 0.0000, 0.0000]]])
    >>> Lorentz(proper=True)
    Lorentz(proper=True)
    """

    name = "lorentz"
    #: Standard deviation of each rapidity component drawn by :meth:`sample`.
    rapidity_scale: ClassVar[float] = 0.5

    def __init__(self, proper: bool = False) -> None:
        if not isinstance(proper, bool):
            raise ValueError(
                f"proper must be a bool (False: O(1,3), True: SO+(1,3)), got {proper!r}"
            )
        self.proper = proper
        self.dim = 4
        self._names, self._mats = lorentz_basis()

    @classmethod
    def from_config(
        cls,
        config_shape: tuple[int, ...],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Group:
        """``Lorentz()`` (O(1,3)) for ``S = (N, 4)``.

        Raises
        ------
        ValueError
            ``S`` is not ``(N, 4)``.
        """
        if len(config_shape) != 2 or config_shape[-1] != 4:
            raise ValueError(
                "symmetry 'lorentz' acts on 4-vectors (ct, x, y, z) and needs configuration "
                f"shape (N, 4), got {config_shape}"
            )
        return cls()

    def __repr__(self) -> str:
        return "Lorentz(proper=True)" if self.proper else "Lorentz()"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.proper,))

    @staticmethod
    def metric(dtype: torch.dtype = torch.float64) -> Tensor:
        """The Minkowski metric ``eta = diag(1, -1, -1, -1)``, shape ``(4, 4)``."""
        return minkowski_metric(dtype)

    def supports_kind(self, kind: Kind) -> bool:
        """Everything but e3nn irreps (representations of O(3), not of the Lorentz group)."""
        return kind.name != "irreps"

    # ---------------------------------------------------------------- generators
    def generator_names(self) -> list[str]:
        """``boost_x, boost_y, boost_z, rotation_x, rotation_y, rotation_z``."""
        return list(self._names)

    def lie_algebra(self, dtype: torch.dtype = torch.float64) -> Tensor:
        """The generators' matrices on 4-vectors, shape ``(6, 4, 4)``, in generator order."""
        return self._mats.to(dtype, copy=True)

    def generators(self, config_shape: Sequence[int]) -> list[Generator]:
        """The so(1,3) basis; each generator is linear with ``matrix`` set, shape ``(4, 4)``."""
        gens = super().generators(config_shape)
        for g, m in zip(gens, self._mats, strict=True):
            g.matrix = m.clone()
        return gens

    def charge_label(self, generator: str | Generator) -> str:
        """``K_x, K_y, K_z`` for the boosts, ``L_x, L_y, L_z`` for the rotations."""
        name = generator.name if isinstance(generator, Generator) else generator
        kind, _, axis = name.partition("_")
        symbol = {"boost": "K", "rotation": "L"}.get(kind)
        return f"{symbol}_{axis}" if symbol and axis else f"J[{name}]"

    def discrete_generators(self, config_shape: Sequence[int]) -> list[tuple[str, Element]]:
        """Parity and time reversal of O(1,3) (none for SO+(1,3)).

        ``("parity", diag(1, -1, -1, -1))`` and ``("time_reversal", diag(-1, 1, 1, 1))``,
        each a batch of one, shape ``(1, 4, 4)``.
        """
        self.check_config(config_shape)
        if self.proper:
            return []
        P = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))
        return [("parity", P[None]), ("time_reversal", -P[None])]

    # ------------------------------------------------------------------ elements
    def _batch(self, g: Element) -> int:
        n = super()._batch(g)
        if g.dim() != 3 or tuple(g.shape[-2:]) != (4, 4):
            raise ValueError(
                f"an element of {self!r} is a batch of 4x4 matrices of shape (n, 4, 4), got "
                f"{format_shape(g.shape)}"
            )
        return n

    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """Identity matrices, shape ``(n, 4, 4)``, float64."""
        return torch.eye(4, dtype=torch.float64).expand(n, -1, -1).clone()

    def compose(self, g: Element, h: Element) -> Element:
        """The matrix product ``g h`` (batches of 1 broadcast)."""
        self._check_pair(g, h)
        g, h = self._promote(g, h)
        return g @ h

    def inverse(self, g: Element) -> Element:
        """``eta g^T eta``, the inverse of a Lorentz matrix."""
        self._batch(g)
        eta = self.metric(g.dtype).to(g.device)
        return eta @ g.transpose(-1, -2) @ eta

    def orthogonal_matrix(self, g: Element, dtype: torch.dtype = torch.float64) -> Tensor:
        """The matrices ``Lambda`` themselves (orthogonal for ``eta``), shape ``(n, 4, 4)``.

        Used by products with translations: ``Translation(4) * Lorentz()`` is
        the Poincaré group, whose translations are conjugated by ``Lambda``.
        """
        self._batch(g)
        return g.to(dtype, copy=True)

    def exp(self, name: str | Generator, s: Tensor, config_shape: Sequence[int]) -> Element:
        """``matrix_exp(s A)`` for the generator's matrix ``A``, shape ``(n, 4, 4)``."""
        name = self._resolve(name)
        s = self._params(s)
        A = self._mats[self._names.index(name)].to(s)
        return torch.linalg.matrix_exp(s[:, None, None] * A)

    def _sample(
        self, n: int, config_shape: tuple[int, ...], gen: torch.Generator | None
    ) -> Element:
        """``B(r) R D`` as documented in the class, shape ``(n, 4, 4)``, float64."""
        r = self.rapidity_scale * torch.randn(n, 3, generator=gen, dtype=torch.float64)
        B = torch.linalg.matrix_exp(torch.einsum("ni,ijk->njk", r, self._mats[:3]))
        R = self.identity(n, config_shape)
        R[:, 1:, 1:] = Rotation(3)._sample(n, (1, 3), gen)
        out = B @ R
        if not self.proper:
            bits = torch.randint(0, 2, (n, 2), generator=gen).to(torch.float64)
            d = torch.ones(n, 4, dtype=torch.float64)
            d[:, 1:] = 1 - 2 * bits[:, :1]  # parity flips space
            d[:, 0] = 1 - 2 * bits[:, 1]  # time reversal flips time
            out = out * d[:, None, :]
        return out

    # ------------------------------------------------------------------- actions
    def _refuse(self, kind: Kind) -> None:
        raise ValueError(
            f"{self!r} cannot act on {kind}: e3nn irreps are representations of O(3); "
            "use 4-vectors (kind 'vector' or 'point', last axis 4) or a Rep of the Lorentz group"
        )

    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name in ("point", "vector", "axial"):
            M = g.to(x)
            if kind.name == "axial":
                M = M * torch.sign(torch.linalg.det(M))[:, None, None]
            return torch.einsum("n...j,n...ij->n...i", x, self._bcast(M, x, 2))
        if kind.name == "pseudoscalar":
            return x * self._bcast(torch.sign(torch.linalg.det(g.to(x))), x, 0)
        if kind.name == "irreps":
            self._refuse(kind)
        return x.clone()

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name in ("point", "vector", "axial"):  # det = 1 near the identity
            return x @ self._mats[self._names.index(name)].to(x).T
        if kind.name == "irreps":
            self._refuse(kind)
        return torch.zeros_like(x)
