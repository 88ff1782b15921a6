"""The structured route of :func:`symnet.nn.equivariant_basis`: blocks, factors, closed forms.

The equivariant maps ``rep_in -> rep_out`` are found piece by piece, exactly:

1. **Blocks.** Sums and tensor products are expanded into *monomials*,
   tensor products of atoms (``Vector``, ``PermRep``, duals, any other
   irreducible building block; scalars drop out), each occupying an
   increasing set of coordinates of the rep. ``W`` splits into one block per
   (output monomial, input monomial) pair, solved independently.
2. **Factors.** In a block, each factor of a product group acts on some of the
   atoms (found from the matrices: a factor acts on an atom when one of its
   generators does not act as zero / identity). The atoms and factors fall
   into connected components; for factors acting on disjoint tensor factors
   ``Hom_{G1 x G2}(A1 (x) A2, B1 (x) B2) = Hom_G1(A1, B1) (x) Hom_G2(A2, B2)``,
   so each component is solved alone and the block's basis is the Kronecker
   product of the components' bases (atoms no factor acts on contribute every
   matrix).
3. **Components.** A component of the permutation group acting on
   permutation reps only has the closed form of :mod:`symnet.nn._basis_perm`;
   any other is solved from its generators' constraints: above
   ``krylov_min`` unknowns by the matrix-free iteration of
   :mod:`symnet.nn._basis_krylov`, above ``gram_min`` by the Gram route, else
   (or when an iterative answer fails its equivariance check) by the dense
   SVD (:mod:`symnet.nn._basis_solve`).

**Canonical form.** The blocks have disjoint supports and their coordinates
embed monotonically into ``W``, so the reduced row echelon form of the whole
span is the union of the blocks' echelon forms, and Gram-Schmidt never mixes
blocks: the canonical basis of ``W`` is the blocks' canonical bases, sorted by
their pivots. A block made of several components is canonicalised once more
(its Kronecker-product basis is not in echelon order). Component solutions
are memoised per group, configuration and atoms (:data:`_MEMO`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from symnet.groups import Group
from symnet.groups.reps import DualRep, PermRep, Rep, Scalar, SumRep, TensorRep
from symnet.nn._basis_krylov import Lazy, krylov_nullspace
from symnet.nn._basis_perm import partition_basis
from symnet.nn._basis_solve import (
    Constraint,
    canonical_pivots,
    checked,
    dense_nullspace,
    gram_nullspace,
    kron_all,
    stacked,
)

__all__: list[str] = []

_F64 = torch.float64
#: A monomial: its atoms, and the (increasing) coordinates of the rep it occupies.
Monomial = tuple[tuple[Rep, ...], Tensor]
#: Solved components: key -> (canonical basis (k, n_out n_in), pivots (k,)).
_MEMO: dict[tuple, tuple[Tensor, Tensor]] = {}


def _symmetric_group(group: Group, config: tuple[int, ...]) -> bool:
    """Whether ``group`` is the full symmetric group S_N on the particles of ``config``."""
    return group.permutes_particles and group.order(config) == math.factorial(config[0])


def clear() -> None:
    """Forget the memoised component solutions."""
    _MEMO.clear()


def monomials(rep: Rep) -> list[Monomial]:
    """Expand ``rep`` into tensor products of atoms, with their coordinates."""
    if isinstance(rep, Scalar):
        return [((), torch.zeros(1, dtype=torch.long))]
    if isinstance(rep, DualRep):
        inner = rep.rep
        if isinstance(inner, SumRep):
            return monomials(SumRep(*[r.T for r in inner.reps]))
        if isinstance(inner, TensorRep):
            return monomials(TensorRep(*[r.T for r in inner.reps]))
        if isinstance(inner, (DualRep, Scalar)):
            return monomials(inner.T)
        return [((rep,), torch.arange(rep.dim))]
    if isinstance(rep, SumRep):
        out: list[Monomial] = []
        offset = 0
        for r in rep.reps:
            out += [(atoms, idx + offset) for atoms, idx in monomials(r)]
            offset += r.dim
        return out
    if isinstance(rep, TensorRep):
        acc: list[Monomial] = [((), torch.zeros(1, dtype=torch.long))]
        for r in rep.reps:
            acc = [
                (a1 + a2, (i1[:, None] * r.dim + i2[None, :]).reshape(-1))
                for a1, i1 in acc
                for a2, i2 in monomials(r)
            ]
        return acc
    return [((rep,), torch.arange(rep.dim))]


class _Factors:
    """The factors of ``group`` with their generators, and which atoms each acts on."""

    def __init__(self, group: Group, config: tuple[int, ...]) -> None:
        self.group, self.config = group, config
        self.lie: list[list[str]] = []
        self.discrete: list[list] = []
        for i, f in enumerate(group.factors):
            self.lie.append(list(f.generator_names()))
            gens = [g for _, g in f.discrete_generators(config)]
            if len(group.factors) > 1:
                gens = [self._embed(i, g) for g in gens]
            self.discrete.append(gens)
        self._acts: dict[Rep, frozenset[int]] = {}

    def _embed(self, i: int, g: object) -> tuple:
        parts = [f.identity(1, self.config) for f in self.group.factors]
        parts[i] = g
        return tuple(parts)

    def acting(self, atom: Rep) -> frozenset[int]:
        """Indices of the factors that act non-trivially on ``atom``."""
        if atom not in self._acts:
            eye = torch.eye(atom.dim, dtype=_F64)
            out = set()
            for i in range(len(self.lie)):
                if any(atom.lie(x).abs().max() > 0 for x in self.lie[i]) or any(
                    (atom.discrete(g) - eye).abs().max() > 0 for g in self.discrete[i]
                ):
                    out.add(i)
            self._acts[atom] = frozenset(out)
        return self._acts[atom]


def _component_constraints(
    fac: _Factors, factors: tuple[int, ...], out: tuple[Rep, ...], inp: tuple[Rep, ...]
) -> list[Lazy]:
    cons: list[Lazy] = []
    for i in factors:
        for x in fac.lie[i]:
            cons.append(Lazy("sum", [a.lie(x) for a in out], [a.lie(x) for a in inp]))
        for g in fac.discrete[i]:
            cons.append(Lazy("prod", [a.discrete(g) for a in out], [a.discrete(g) for a in inp]))
    return cons


def _dense(c: Lazy) -> Constraint:
    """The matrices ``(A, B)`` of a lazy constraint."""
    return kron_all(c.out, c.kind), kron_all(c.inp, c.kind)


def _accept(
    Q: Tensor | None, cons: list[Constraint], n_out: int, n_in: int
) -> tuple[Tensor, Tensor] | None:
    """Canonicalise an iterative nullspace if every element is equivariant at round-off."""
    if Q is None:
        return None
    q, piv = canonical_pivots(Q)
    return (q.T.contiguous(), piv) if checked(q.T.reshape(-1, n_out, n_in), cons) else None


def _is_perm(atom: Rep) -> bool:
    return isinstance(atom, PermRep) or (
        isinstance(atom, DualRep) and isinstance(atom.rep, PermRep)
    )


def _solve_component(
    fac: _Factors,
    factors: tuple[int, ...],
    out: tuple[Rep, ...],
    inp: tuple[Rep, ...],
    rtol: float,
    gram_min: int,
    krylov_min: int,
) -> tuple[Tensor, Tensor]:
    key = (repr(fac.group), fac.config, factors, tuple(map(repr, out)), tuple(map(repr, inp)))
    key = key + (rtol, gram_min, krylov_min)
    if key in _MEMO:
        return _MEMO[key]
    n_out = math.prod(a.dim for a in out)
    n_in = math.prod(a.dim for a in inp)
    group_factors = [fac.group.factors[i] for i in factors]
    if (
        len(group_factors) == 1
        and _symmetric_group(group_factors[0], fac.config)
        and all(_is_perm(a) for a in out + inp)
    ):
        result = partition_basis(len(out), len(inp), fac.config[0])
    else:
        lazy = _component_constraints(fac, factors, out, inp)
        cons = [_dense(c) for c in lazy]
        result = None
        if n_out * n_in > krylov_min:
            shape = tuple(a.dim for a in out + inp)
            Q = krylov_nullspace(lazy, shape)
            result = _accept(Q, cons, n_out, n_in)
        if result is None and n_out * n_in > gram_min:
            result = _accept(gram_nullspace(cons), cons, n_out, n_in)
        if result is None:
            q, piv = canonical_pivots(dense_nullspace(stacked(cons, n_out, n_in), rtol))
            result = (q.T.contiguous(), piv)
    _MEMO[key] = result
    return result


def _components(fac: _Factors, atoms: tuple[Rep, ...]) -> list[tuple[tuple[int, ...], list[int]]]:
    """Connected components of atoms and factors: ``(factor indices, atom positions)``."""
    comps: list[tuple[set[int], list[int]]] = []
    for pos, a in enumerate(atoms):
        fs = set(fac.acting(a))
        merged = [c for c in comps if c[0] & fs] if fs else []
        for c in merged:
            comps.remove(c)
            fs |= c[0]
        positions = sorted([pos] + [p for c in merged for p in c[1]])
        comps.append((fs, positions))
    return [(tuple(sorted(fs)), pos) for fs, pos in comps]


def _block(
    fac: _Factors,
    out: tuple[Rep, ...],
    inp: tuple[Rep, ...],
    rtol: float,
    gram_min: int,
    krylov_min: int,
) -> tuple[Tensor, Tensor]:
    """Canonical basis ``(k, n_out n_in)`` and pivots of one monomial pair."""
    atoms = out + inp
    r = len(out)
    comps = _components(fac, atoms)
    nontrivial = [c for c in comps if c[0]]
    trivial = [p for c in comps if not c[0] for p in c[1]]
    if len(nontrivial) == 1 and not trivial:
        return _solve_component(fac, nontrivial[0][0], out, inp, rtol, gram_min, krylov_min)
    operands: list = []
    n_axes = len(atoms)
    for c, (factors, positions) in enumerate(nontrivial):
        o = tuple(atoms[p] for p in positions if p < r)
        i = tuple(atoms[p] for p in positions if p >= r)
        basis, _ = _solve_component(fac, factors, o, i, rtol, gram_min, krylov_min)
        axes = [p for p in positions if p < r] + [p for p in positions if p >= r]
        operands += [basis.reshape(-1, *[atoms[p].dim for p in axes]), [n_axes + c, *axes]]
    if trivial:  # every matrix: the standard basis, already canonical
        t_out = [p for p in trivial if p < r]
        t_in = [p for p in trivial if p >= r]
        n_t = math.prod(atoms[p].dim for p in trivial)
        eye = torch.eye(n_t, dtype=_F64).reshape(-1, *[atoms[p].dim for p in t_out + t_in])
        operands += [eye, [n_axes + len(nontrivial), *t_out, *t_in]]
    if not operands:  # scalars only
        return torch.ones(1, 1, dtype=_F64), torch.zeros(1, dtype=torch.long)
    coeff_axes = list(range(n_axes, n_axes + len(nontrivial) + (1 if trivial else 0)))
    prod = torch.einsum(*operands, coeff_axes + list(range(n_axes)))
    flat = prod.reshape(-1, math.prod(a.dim for a in atoms))
    if flat.shape[0] == 0:
        return flat, torch.zeros(0, dtype=torch.long)
    q, piv = canonical_pivots(flat.T.contiguous())
    return q.T.contiguous(), piv


def structured_basis(
    group: Group,
    rep_in: Rep,
    rep_out: Rep,
    config: tuple[int, ...],
    rtol: float,
    gram_min: int,
    krylov_min: int,
) -> Tensor:
    """The canonical basis ``(K, d_out, d_in)`` of the equivariant maps, block by block."""
    fac = _Factors(group, config)
    d_in, d_out = rep_in.dim, rep_out.dim
    rows: list[Tensor] = []
    cols: list[Tensor] = []
    pivots: list[Tensor] = []
    blocks: dict[tuple, tuple[Tensor, Tensor]] = {}
    for a_out, i_out in monomials(rep_out):
        for a_in, i_in in monomials(rep_in):
            key = (tuple(map(repr, a_out)), tuple(map(repr, a_in)))
            if key not in blocks:
                blocks[key] = _block(fac, a_out, a_in, rtol, gram_min, krylov_min)
            basis, piv = blocks[key]
            if basis.shape[0] == 0:
                continue
            pos = (i_out[:, None] * d_in + i_in[None, :]).reshape(-1)
            rows.append(basis)
            cols.append(pos)
            pivots.append(pos[piv])
    if not rows:
        return torch.zeros(0, d_out, d_in, dtype=_F64)
    k_total = sum(b.shape[0] for b in rows)
    out = torch.zeros(k_total, d_out * d_in, dtype=_F64)
    start = 0
    for basis, pos in zip(rows, cols, strict=True):
        out[start : start + basis.shape[0], pos] = basis
        start += basis.shape[0]
    order = torch.argsort(torch.cat(pivots))
    return out[order].reshape(k_total, d_out, d_in)
