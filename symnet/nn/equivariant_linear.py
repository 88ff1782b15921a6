r"""Equivariant linear maps from the nullspace of the group's constraints.

A linear map ``W`` from ``rep_in`` to ``rep_out`` is equivariant when it
commutes with the group action. For a group with Lie algebra generators ``X``
and discrete generators ``g`` (symnet's groups provide both) it suffices that

.. math::

    \rho_{out}(X) W - W \rho_{in}(X) = 0, \qquad
    \rho_{out}(g) W - W \rho_{in}(g) = 0

(the second is ``rho_out(g) W rho_in(g)^-1 = W`` without the inverse). With
row-major ``vec``, ``vec(A W B) = (A (x) B^T) vec(W)``, so the constraints
stack into one matrix ``C`` of shape ``(m, d_out d_in)`` acting on ``vec(W)``,
and the equivariant maps are its nullspace: the right-singular vectors of
``C`` whose singular value is at most ``NULLSPACE_RTOL * max(sigma)``
(Finzi, Welling & Wilson 2021, who also solve for the nullspace of stacked
generator constraints).

**Threshold.** The constraints of symnet's reps have entries that are small
integers (so(d) generators, permutation matrices, their Kronecker sums), so
the nonzero singular values of ``C`` are of order one: the smallest nonzero
one is a spectral gap of a Casimir-like operator (``sigma_min^2`` is an
eigenvalue of ``C^T C = sum_X rho(X)^T rho(X) + ...``). The singular values of
exact null directions are at round-off, ``~ eps_64 sqrt(m n) max(sigma)``,
about 1e-14 for the sizes used here. ``1e-7`` sits geometrically between
the two, a margin of about seven orders of magnitude on either side (the
tests check the gap of every rep they use).

**Canonical basis.** An SVD returns an arbitrary orthonormal basis of the
nullspace, which could differ between LAPACK builds and make saved
coefficients meaningless. The basis is therefore canonicalised: reduced row
echelon form with pivots taken in index order (each basis element owns one
"pivot" entry of ``W``), then Gram-Schmidt in that order (QR with a positive
diagonal). The result depends only on the nullspace, up to round-off.

**Routes.** The same canonical basis is reached without one big SVD where
structure allows (:mod:`symnet.nn._basis_struct` has the details and the
proof that the pieces assemble into the canonical basis):

* *blocks*: direct sums split ``W`` into one block per pair of summands
  (tensor products of sums are expanded first);
* *factors*: in a product group, factors acting on different tensor factors
  are solved apart, ``Hom(A1 (x) A2, B1 (x) B2) = Hom(A1, B1) (x) Hom(A2, B2)``;
* *closed form* for permutation tensor reps: the normalised indicators of
  the set partitions of the indices (Maron et al. 2019,
  :mod:`symnet.nn._basis_perm`), already canonical, no solve at all;
* what remains is solved from its generators: the dense SVD of ``C`` up to
  ``_GRAM_MIN`` unknowns, the eigenvectors of ``C^T C`` (assembled from
  Kronecker products, never forming ``C``; :mod:`symnet.nn._basis_solve`) up
  to ``_KRYLOV_MIN``, and above that a matrix-free Chebyshev-filtered
  subspace iteration (:mod:`symnet.nn._basis_krylov`). The iterative answers
  are checked for equivariance at round-off and replaced by the dense SVD
  when a check fails.

A non-default ``rtol`` always takes the dense route.

Bases are cached per ``(group, rep_in, rep_out)`` in a module-level cache
(:func:`clear_basis_cache` empties it); layers read their weights from the
float64 cache in the dtype of their coefficients, so casting a float32 layer
to float64 gives an equivariant float64 layer exact to round-off.

References
----------
M. Finzi, M. Welling, A. G. Wilson, "A practical method for constructing
equivariant multilayer perceptrons for arbitrary matrix groups", ICML 2021.
H. Maron, H. Ben-Hamu, N. Shamir, Y. Lipman, "Invariant and equivariant graph
networks", ICLR 2019.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symnet._deprecation import MISSING, renamed_argument
from symnet._rng import as_generator
from symnet.groups import Generator, Group, as_group
from symnet.groups.reps import Rep, Scalar
from symnet.nn import _basis_struct
from symnet.nn._basis_solve import (
    Constraint,
    canonical,
    checked,
    dense_nullspace,
    gram_nullspace,
    stacked,
)
from symnet.nn._basis_struct import structured_basis
from symnet.nn._checks import check_input

__all__ = [
    "NULLSPACE_RTOL",
    "EquivariantLinear",
    "clear_basis_cache",
    "constraint_matrix",
    "equivariant_basis",
]

#: Relative singular-value threshold of the nullspace (see the module docstring).
NULLSPACE_RTOL = 1e-7
#: Unknowns ``d_out d_in`` of a block above which the Gram route replaces the dense SVD.
_GRAM_MIN = 128
#: ... and above which the matrix-free iteration replaces the Gram route.
_KRYLOV_MIN = 2500
_F64 = torch.float64

_CACHE: dict[tuple[str, str, str, float], Tensor] = {}
_CAST: dict[tuple[tuple[str, str, str, float], torch.dtype, torch.device], Tensor] = {}


def clear_basis_cache() -> None:
    """Empty the module-level cache of equivariant bases."""
    _CACHE.clear()
    _CAST.clear()
    _basis_struct.clear()


def _check_reps(group: Group, rep_in: Rep, rep_out: Rep) -> tuple[int, ...]:
    """Validate the reps against ``group``; return the configuration shape ``(N, d)``."""
    if not isinstance(group, Group):
        raise TypeError(f"group must be a symnet.groups.Group, got {type(group).__name__}")
    for name, rep in (("rep_in", rep_in), ("rep_out", rep_out)):
        if not isinstance(rep, Rep):
            raise TypeError(f"{name} must be a symnet.groups.Rep, got {type(rep).__name__}")
        if rep.group != group:
            raise ValueError(f"{name} {rep!r} belongs to {rep.group!r}, not to {group!r}")
    sizes = {n for n in (rep_in.particles(), rep_out.particles()) if n is not None}
    if len(sizes) > 1:
        raise ValueError(
            f"rep_in {rep_in!r} and rep_out {rep_out!r} permute different numbers of "
            f"particles {sorted(sizes)}"
        )
    return (sizes.pop() if sizes else 1, group.dim if group.dim is not None else 1)


def _constraints(group: Group, rep_in: Rep, rep_out: Rep) -> list[Constraint]:
    """The pairs ``(rho_out, rho_in)`` of every Lie algebra and discrete generator."""
    config = _check_reps(group, rep_in, rep_out)
    out = [(rep_out.lie(name), rep_in.lie(name)) for name in group.generator_names()]
    for _, g in group.discrete_generators(config):
        out.append((rep_out.discrete(g), rep_in.discrete(g)))
    return out


def constraint_matrix(group: Group, rep_in: Rep, rep_out: Rep) -> Tensor:
    """The stacked equivariance constraints acting on row-major ``vec(W)``.

    Parameters
    ----------
    group : Group
        The group; its Lie algebra generators and discrete generators are used.
    rep_in, rep_out : Rep
        Reps of ``group``.

    Returns
    -------
    Tensor
        Shape ``(m, d_out d_in)``, float64; one block of ``d_out d_in`` rows per
        generator (``m = 0`` when the group has no generators).
    """
    return stacked(_constraints(group, rep_in, rep_out), rep_out.dim, rep_in.dim)


def _solve(group: Group, rep_in: Rep, rep_out: Rep, rtol: float, route: str = "auto") -> Tensor:
    """Solve for the canonical basis ``(k, d_out, d_in)`` by ``route``.

    ``"auto"`` (the default, used by the cache) is the structured route with
    the Gram solver above ``_GRAM_MIN`` unknowns per component and the
    matrix-free iteration above ``_KRYLOV_MIN``; ``"krylov"`` is the
    structured route with the iteration for every component without a closed
    form; ``"dense"`` is one SVD of the whole constraint matrix, ``"gram"``
    one Gram eigensolve of the whole rep (tests and benchmarks compare the
    routes). A non-default ``rtol`` takes the dense route.
    """
    config = _check_reps(group, rep_in, rep_out)
    d_out, d_in = rep_out.dim, rep_in.dim
    if route not in ("auto", "dense", "gram", "krylov"):
        raise ValueError(f"route must be 'auto', 'dense', 'gram' or 'krylov', got {route!r}")
    if route == "auto" and rtol == NULLSPACE_RTOL:
        return structured_basis(group, rep_in, rep_out, config, rtol, _GRAM_MIN, _KRYLOV_MIN)
    if route == "krylov":
        return structured_basis(group, rep_in, rep_out, config, rtol, 0, 0)
    constraints = _constraints(group, rep_in, rep_out)
    if not constraints:
        return torch.eye(d_out * d_in, dtype=_F64).reshape(-1, d_out, d_in)
    if route == "gram":
        Q = gram_nullspace(constraints)
        if Q is None:
            raise ValueError(f"the Gram route is unsure for {rep_in!r} -> {rep_out!r}")
        basis = canonical(Q).T.reshape(-1, d_out, d_in).contiguous()
        if not checked(basis, constraints):
            raise ValueError(f"the Gram route is inexact for {rep_in!r} -> {rep_out!r}")
        return basis
    Q = canonical(dense_nullspace(constraint_matrix(group, rep_in, rep_out), rtol))
    return Q.T.reshape(-1, d_out, d_in).contiguous()


def equivariant_basis(
    group: Group, rep_in: Rep, rep_out: Rep, *, rtol: float = NULLSPACE_RTOL
) -> Tensor:
    """An orthonormal basis of the equivariant linear maps ``rep_in -> rep_out`` (cached).

    Parameters
    ----------
    group : Group
        The group.
    rep_in, rep_out : Rep
        Reps of ``group``.
    rtol : float
        Relative singular-value threshold of the nullspace.

    Returns
    -------
    Tensor
        Shape ``(k, d_out, d_in)``, float64, orthonormal in the Frobenius inner
        product; ``k = 0`` when only the zero map is equivariant. A copy: the
        cache is not modified through it.

    Examples
    --------
    >>> from symnet.groups import Permutation
    >>> from symnet.groups import PermRep
    >>> from symnet.nn import equivariant_basis
    >>> G = Permutation()
    >>> equivariant_basis(G, PermRep(G, 5), PermRep(G, 5)).shape
    torch.Size([2, 5, 5])
    """
    return _cached(group, rep_in, rep_out, rtol).clone()


def _key(group: Group, rep_in: Rep, rep_out: Rep, rtol: float) -> tuple[str, str, str, float]:
    return (repr(group), repr(rep_in), repr(rep_out), float(rtol))


def _cached(group: Group, rep_in: Rep, rep_out: Rep, rtol: float) -> Tensor:
    _check_reps(group, rep_in, rep_out)
    key = _key(group, rep_in, rep_out, rtol)
    if key not in _CACHE:
        _CACHE[key] = _solve(group, rep_in, rep_out, rtol)
    return _CACHE[key]


def _cached_as(key: tuple[str, str, str, float], like: Tensor) -> Tensor:
    """The cached float64 basis in the dtype and device of ``like`` (itself cached)."""
    k = (key, like.dtype, like.device)
    if k not in _CAST:
        _CAST[k] = _CACHE[key].to(dtype=like.dtype, device=like.device)
    return _CAST[k]


class EquivariantLinear(nn.Module):
    """``y = W x + b`` with ``W`` and ``b`` constrained to be equivariant.

    ``W = sum_k c_k B_k`` over the basis ``B_k`` of :func:`equivariant_basis`
    and ``b = sum_j e_j u_j`` over the invariant vectors ``u_j`` of ``rep_out``
    (the equivariant maps from the trivial rep). The coefficients ``c`` are
    the parameters, initialised ``N(0, d_out / k)``: the basis is orthonormal,
    so ``E ||W||_F^2 = d_out``, the value of a dense layer with entries
    ``N(0, 1 / d_in)`` (LeCun fan-in scaling). Bias coefficients start at 0.

    Parameters
    ----------
    group : Group or Generator
        The group, e.g. ``Rotation(3) * Permutation()``, or a single generator
        (its one-parameter group, :class:`~symnet.groups.OneParameterGroup`).
    rep_in, rep_out : Rep
        Reps of ``group`` (:mod:`symnet.groups.reps`).
    bias : bool
        Learn an invariant bias (zero-dimensional when ``rep_out`` has no
        invariant vectors).

    Attributes
    ----------
    basis_dim : int
        Number of weight coefficients ``k``.
    bias_dim : int
        Number of bias coefficients (0 without bias).
    weight_coeffs : nn.Parameter
        Shape ``(k,)``.
    bias_coeffs : nn.Parameter or None
        Shape ``(bias_dim,)``.
    in_kinds, out_kinds : tuple of Rep
        ``(rep_in,)`` and ``(rep_out,)``: with :attr:`group`, the declaration
        :func:`~symnet.testing.assert_equivariant` reads.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Rotation
    >>> from symnet.groups import Vector
    >>> from symnet.nn import EquivariantLinear
    >>> G = Rotation(3)
    >>> V = Vector(G)
    >>> layer = EquivariantLinear(G, V * V, V)
    >>> layer
    EquivariantLinear(Rotation(3), in=V*V, out=V, basis=1, bias=0)
    >>> layer(torch.randn(8, 9)).shape
    torch.Size([8, 3])
    >>> from symnet.testing import assert_equivariant
    >>> assert_equivariant(layer, torch.randn(8, 9)).passed
    True
    """

    def __init__(self, group: Group, rep_in: Rep, rep_out: Rep, bias: bool = True) -> None:
        super().__init__()
        group = as_group(group) if isinstance(group, Generator) else group
        self.group, self.rep_in, self.rep_out = group, rep_in, rep_out
        self.in_kinds, self.out_kinds = (rep_in,), (rep_out,)
        self._key = _key(group, rep_in, rep_out, NULLSPACE_RTOL)
        self.basis_dim = int(_cached(group, rep_in, rep_out, NULLSPACE_RTOL).shape[0])
        self.weight_coeffs = nn.Parameter(torch.empty(self.basis_dim))
        self._bias_key: tuple[str, str, str, float] | None = None
        self.bias_dim = 0
        if bias:
            scalar = Scalar(group)
            self._bias_key = _key(group, scalar, rep_out, NULLSPACE_RTOL)
            self.bias_dim = int(_cached(group, scalar, rep_out, NULLSPACE_RTOL).shape[0])
            self.bias_coeffs: nn.Parameter | None = nn.Parameter(torch.empty(self.bias_dim))
        else:
            self.register_parameter("bias_coeffs", None)
        self.reset_parameters()

    def reset_parameters(
        self, rng: int | torch.Generator | None = None, *, generator: Any = MISSING
    ) -> None:
        """Draw ``c ~ N(0, d_out / k)`` (see the class docstring); zero the bias.

        Parameters
        ----------
        rng : int or torch.Generator, optional
            Seed or generator; default torch's global generator.
        generator : torch.Generator, optional
            Deprecated name of ``rng``.
        """
        rng = renamed_argument(
            "generator", "rng", generator, rng, where="EquivariantLinear.reset_parameters"
        )
        gen = as_generator(rng, default=None)
        std = math.sqrt(self.rep_out.dim / self.basis_dim) if self.basis_dim else 0.0
        with torch.no_grad():
            self.weight_coeffs.normal_(0.0, std, generator=gen)
            if self.bias_coeffs is not None:
                self.bias_coeffs.zero_()

    def _ensure_cached(self) -> None:
        if self._key not in _CACHE:  # the cache was cleared after construction
            _cached(self.group, self.rep_in, self.rep_out, NULLSPACE_RTOL)
        if self._bias_key is not None and self._bias_key not in _CACHE:
            _cached(self.group, Scalar(self.group), self.rep_out, NULLSPACE_RTOL)

    @property
    def weight(self) -> Tensor:
        """The equivariant matrix ``W``, shape ``(d_out, d_in)``."""
        self._ensure_cached()
        basis = _cached_as(self._key, self.weight_coeffs)
        return torch.einsum("k,koi->oi", self.weight_coeffs, basis)

    @property
    def bias(self) -> Tensor | None:
        """The invariant bias ``b``, shape ``(d_out,)``, or None."""
        if self.bias_coeffs is None or self._bias_key is None:
            return None
        self._ensure_cached()
        basis = _cached_as(self._bias_key, self.bias_coeffs)
        return torch.einsum("k,koi->o", self.bias_coeffs, basis)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer.

        Parameters
        ----------
        x : Tensor
            Shape ``(..., rep_in.dim)``.

        Returns
        -------
        Tensor
            Shape ``(..., rep_out.dim)``, in the dtype of the layer.

        Raises
        ------
        TypeError
            ``x`` is not floating point or not in the dtype of the
            coefficients (cast one of them: ``x.float()``, ``layer.double()``;
            float16 and bfloat16 work too).
        ValueError
            ``x`` does not end in ``rep_in.dim`` entries.
        """
        check_input(x, "x", self.weight_coeffs, type(self).__name__)
        if x.shape[-1] != self.rep_in.dim:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape (..., {self.rep_in.dim}) for "
                f"rep_in {self.rep_in!r}, got {tuple(x.shape)}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        """Group, reps and the numbers of coefficients."""
        out = f"{self.group!r}, in={self.rep_in!r}, out={self.rep_out!r}, basis={self.basis_dim}"
        return out + (f", bias={self.bias_dim}" if self.bias_coeffs is not None else "")
