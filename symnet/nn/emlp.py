r"""An equivariant multilayer perceptron for any symnet group and representation (EMLP).

:class:`EquivariantMLP` maps vectors of a rep ``rep_in`` to vectors of
``rep_out`` through hidden layers of a rep ``H``, each made of

1. an equivariant linear map ``rep_prev -> H + g S`` with an invariant bias
   (``g`` extra scalars: one *gate* per non-scalar copy in ``H``);
2. an equivariant bilinear map of the result with itself, added to it
   (``h -> h + beta(h, h)``, on the ``H`` part);
3. a gated nonlinearity: SiLU on the scalar channels of ``H``, every other
   copy multiplied by ``sigmoid`` of its gate; the gates are then dropped;

then a final equivariant linear map ``H -> rep_out``. This is the EMLP of
Finzi, Welling & Wilson (ICML 2021). Gates are invariant scalars, so the
nonlinearity is equivariant for every group, also the non-compact ones
(Lorentz, symplectic) where norms of non-scalar features are not invariant.

**Hidden rep.** An int ``hidden`` builds EMLP's "uniform" rep: with the
building blocks ``b_i`` of ``rep_in`` and ``rep_out`` (``V`` for rotations,
Lorentz or symplectic groups, ``P(N)`` for permutations, both for products),
a third of the width each goes to scalars, to the ``b_i`` and to the products
``b_i * b_j``, about ``hidden`` dimensions in all (the non-scalar summands of
``rep_in`` and ``rep_out`` always get at least one copy); e.g. ``hidden=256``
for ``O(5)`` and ``2*V`` gives ``96*S + 17*V + 3*V*V``. A :class:`Rep` of the
group is used as given.

**Linear layers.** A rep is split into its summands; equal summands are
*types* with multiplicities. The maps between ``m_a`` copies of ``T_a`` and
``m_c`` copies of ``T_c`` are ``sum_k C_k (x) B_k`` with the (small) bases
``B_k`` of :func:`~symnet.nn.equivariant_basis` between types and free
channel matrices ``C_k``: only the constraints between types are solved.

**Bilinear layer.** For pairs of types, the equivariant bilinear
maps ``T_a x T_b -> T_c`` (the basis of ``T_a (x) T_b -> T_c``) that are
tensor contractions (``T_c`` is ``T_b`` with the blocks of ``T_a``
contracted, e.g. ``V x V -> S``, ``V x V*V -> V``, ``V*V x V*V -> S``) or
outer products (``V x V -> V*V``, ``S x V -> V``), as EMLP's ``x -> W(x) x``;
the product is taken channel-wise between learned channel mixtures (at most
8 per pair of types) and mixed into the copies of ``T_c``. Its output weights
start small (``bilinear_scale=0.1`` of a variance-preserving scale, as EMLP's
factor 0.1): every bilinear layer doubles the polynomial degree of the
network, and with a term of the size of the linear one the untrained output
of three layers is dominated by its degree-8 part, heavy-tailed on rare large
inputs, which training does not undo (EMLP's inertia task: test MSE 3.8 at
0.5, 0.004 at 0.1).

References
----------
M. Finzi, M. Welling, A. G. Wilson, "A practical method for constructing
equivariant multilayer perceptrons for arbitrary matrix groups", ICML 2021.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from symnet._rng import as_generator
from symnet.groups import Generator, Group, as_group
from symnet.groups.reps import Rep
from symnet.nn._checks import check_input
from symnet.nn._emlp_layers import BILINEAR_SCALE, Gate, TypedBilinear, TypedLinear, gated
from symnet.nn._emlp_reps import Layout, default_hidden, layout

__all__ = ["EquivariantMLP"]


class _Block(nn.Module):
    """One hidden layer: equivariant linear (values + gates), bilinear, gated nonlinearity."""

    def __init__(
        self, group: Group, lay_in: Layout, lay_h: Layout, bilinear: bool, scale: float, gen: Any
    ) -> None:
        super().__init__()
        self.lay_h = lay_h
        self.linear = TypedLinear(group, lay_in, gated(lay_h, group), gen)
        self.bilinear = TypedBilinear(group, lay_h, gen, scale) if bilinear else None
        self.gate = Gate(lay_h)

    def forward(self, x: Tensor) -> Tensor:
        h = self.linear(x)
        if self.bilinear is not None:
            n = self.lay_h.dim
            values = h[..., :n]
            h = torch.cat([values + self.bilinear(values), h[..., n:]], -1)
        return self.gate(h)


def _check_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= 1, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value}")
    return value


class EquivariantMLP(nn.Module):
    """EMLP: equivariant linear + bilinear + gated layers between reps of any group.

    Parameters
    ----------
    group : Group or Generator
        The group, e.g. ``Rotation(3)``, ``Rotation(5) * Reflection(5)`` (O(5)),
        ``Permutation()``, ``Rotation(3) * Permutation()``, ``Lorentz()``.
    rep_in, rep_out : Rep
        Reps of ``group`` (:mod:`symnet.groups.reps`): ``2 * V``, ``V * V``,
        ``P * V + S``, ...
    hidden : int or Rep
        Approximate width of the default hidden rep (see the module
        docstring), or the hidden rep itself.
    n_layers : int
        Number of hidden layers.
    bilinear : bool
        Include the bilinear layer in every hidden layer. Without it the
        network cannot build invariants of a group with no invariant linear
        functions (``V -> S`` is zero): ``2*V -> S`` then learns a constant.
    bilinear_scale : float
        Initial size of the bilinear term relative to the linear one (for
        unit-variance features; default 0.1). Small, so that the untrained
        network is close to a gated linear one (see the module docstring).
    seed : int or torch.Generator, optional
        Seed of the initial parameters; default torch's global generator.

    Attributes
    ----------
    group : Group
    rep_in, rep_out : Rep
    hidden_rep : Rep
        The rep of every hidden layer (without its gates).
    n_layers : int
    in_kinds, out_kinds : tuple of Rep
        ``(rep_in,)`` and ``(rep_out,)``: with :attr:`group`, the declaration
        :func:`~symnet.testing.assert_equivariant` reads.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Rotation, Scalar, Vector
    >>> from symnet.nn import EquivariantMLP
    >>> G = Rotation(3)
    >>> V, S = Vector(G), Scalar(G)
    >>> model = EquivariantMLP(G, V + S, V, hidden=32, n_layers=2, seed=0)
    >>> model
    EquivariantMLP(Rotation(3): V + S -> V, hidden=11*S + 4*V + V*V, n_layers=2)
    >>> model(torch.randn(5, 4)).shape
    torch.Size([5, 3])
    >>> from symnet.testing import assert_equivariant
    >>> assert_equivariant(model.double(), torch.randn(5, 4, dtype=torch.float64)).passed
    True
    """

    def __init__(
        self,
        group: Group,
        rep_in: Rep,
        rep_out: Rep,
        hidden: int | Rep = 256,
        n_layers: int = 3,
        *,
        bilinear: bool = True,
        bilinear_scale: float = BILINEAR_SCALE,
        seed: int | torch.Generator | None = None,
    ) -> None:
        super().__init__()
        group = as_group(group) if isinstance(group, Generator) else group
        if not isinstance(group, Group):
            raise TypeError(f"group must be a symnet.groups.Group, got {type(group).__name__}")
        for name, rep in (("rep_in", rep_in), ("rep_out", rep_out), ("hidden", hidden)):
            if name == "hidden" and not isinstance(hidden, Rep):
                continue
            if not isinstance(rep, Rep):
                raise TypeError(f"{name} must be a symnet.groups.Rep, got {type(rep).__name__}")
            if rep.group != group:
                raise ValueError(f"{name} {rep!r} belongs to {rep.group!r}, not to {group!r}")
        if not isinstance(hidden, Rep):
            if isinstance(hidden, bool) or not isinstance(hidden, int):
                raise TypeError(
                    f"hidden must be an int >= 1 or a Rep of the group, got "
                    f"{type(hidden).__name__} {hidden!r}"
                )
            _check_int(hidden, "hidden")
            hidden = default_hidden(group, rep_in, rep_out, hidden)
        self.n_layers = _check_int(n_layers, "n_layers")
        if not isinstance(bilinear, bool):
            raise TypeError(f"bilinear must be a bool, got {type(bilinear).__name__}")
        if isinstance(bilinear_scale, bool) or not isinstance(bilinear_scale, (int, float)):
            raise TypeError(
                f"bilinear_scale must be a float >= 0, got {type(bilinear_scale).__name__}"
            )
        if not math.isfinite(bilinear_scale) or bilinear_scale < 0:
            raise ValueError(f"bilinear_scale must be a finite float >= 0, got {bilinear_scale}")
        self.bilinear_scale = float(bilinear_scale)
        gen = as_generator(seed, default=None, name="seed")
        self.group, self.rep_in, self.rep_out, self.hidden_rep = group, rep_in, rep_out, hidden
        self.in_kinds, self.out_kinds = (rep_in,), (rep_out,)
        self._in, self._hidden, self._out = layout(rep_in), layout(hidden), layout(rep_out)
        blocks, prev = [], self._in
        for _ in range(self.n_layers):
            blocks.append(_Block(group, prev, self._hidden, bilinear, self.bilinear_scale, gen))
            prev = self._hidden
        self.blocks = nn.ModuleList(blocks)
        self.output = TypedLinear(group, self._hidden, self._out, gen)
        self._perm_in = None if self._in.identity else self._in.perm
        self._inverse_out = None if self._out.identity else self._out.inverse

    def forward(self, x: Tensor) -> Tensor:
        """Apply the network.

        Parameters
        ----------
        x : Tensor
            Shape ``(..., rep_in.dim)``.

        Returns
        -------
        Tensor
            Shape ``(..., rep_out.dim)``, in the dtype of the model.

        Raises
        ------
        TypeError
            ``x`` is not a floating tensor in the model's dtype.
        ValueError
            ``x`` does not end in ``rep_in.dim`` entries.
        """
        check_input(x, "x", self.output.weight_coeffs, type(self).__name__)
        if x.dim() == 0 or x.shape[-1] != self.rep_in.dim:
            raise ValueError(
                f"EquivariantMLP expects x of shape (..., {self.rep_in.dim}) for rep_in "
                f"{self.rep_in!r}, got {tuple(x.shape)}"
            )
        batch = x.shape[:-1]
        x = x.reshape(-1, x.shape[-1])
        if self._perm_in is not None:
            x = x.index_select(1, self._perm_in.to(x.device))
        for block in self.blocks:
            x = block(x)
        y = self.output(x)
        if self._inverse_out is not None:
            y = y.index_select(1, self._inverse_out.to(y.device))
        return y.reshape(*batch, y.shape[-1])

    def __repr__(self) -> str:
        extra = (
            ""
            if self.bilinear_scale == BILINEAR_SCALE
            else f", bilinear_scale={self.bilinear_scale}"
        )
        if not any(b.bilinear is not None for b in self.blocks):
            extra = ", bilinear=False"
        return (
            f"{type(self).__name__}({self.group!r}: {self.rep_in!r} -> {self.rep_out!r}, "
            f"hidden={self.hidden_rep!r}, n_layers={self.n_layers}{extra})"
        )
