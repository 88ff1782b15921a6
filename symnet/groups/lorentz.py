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

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from symnet.groups._matrix_group import MatrixGroup
from symnet.groups.generator import Generator
from symnet.groups.group import Element, Group
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


class Lorentz(MatrixGroup, by_name="lorentz"):
    """The Lorentz group O(1,3) (``proper=True``: SO+(1,3)) acting on 4-vectors ``(ct, x, y, z)``.

    Elements are matrices ``Lambda`` of shape ``(n, 4, 4)`` (float64) with
    ``Lambda^T eta Lambda = eta``, ``eta = diag(1, -1, -1, -1)``
    (:meth:`metric`). Acts on ``point`` and ``vector`` tensors whose last axis
    is 4 (``x -> Lambda x``), so ``Vector(Lorentz())`` is the 4-vector rep.
    Generators ``boost_x, boost_y, boost_z`` (charges ``K_x, ...``) and
    ``rotation_x, rotation_y, rotation_z`` (charges ``L_x, ...``).
    ``Translation(4) * Lorentz()`` is the Poincaré group: its translations are
    conjugated by ``Lambda`` (:meth:`orthogonal_matrix`).

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
    _vectors = "4-vectors"
    _rep_of = " of the Lorentz group"
    _config_needs = ("4-vectors (ct, x, y, z)", "4")

    def __init__(self, proper: bool = False) -> None:
        if not isinstance(proper, bool):
            raise ValueError(
                f"proper must be a bool (False: O(1,3), True: SO+(1,3)), got {proper!r}"
            )
        self.proper = proper
        self.dim = 4
        self._names, self._mats = lorentz_basis()

    @classmethod
    def _from_width(cls, d: int) -> Group | None:
        """``Lorentz()`` (O(1,3)) for ``S = (N, 4)``."""
        return cls() if d == 4 else None

    def __repr__(self) -> str:
        return "Lorentz(proper=True)" if self.proper else "Lorentz()"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.proper,))

    @staticmethod
    def metric(dtype: torch.dtype = torch.float64) -> Tensor:
        """The Minkowski metric ``eta = diag(1, -1, -1, -1)``, shape ``(4, 4)``."""
        return minkowski_metric(dtype)

    # ---------------------------------------------------------------- generators
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
    def inverse(self, g: Element) -> Element:
        """``eta g^T eta``, the inverse of a Lorentz matrix."""
        self._batch(g)
        eta = self.metric(g.dtype).to(g.device)
        return eta @ g.transpose(-1, -2) @ eta

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
