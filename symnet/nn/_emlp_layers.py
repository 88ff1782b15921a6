"""Private layers of :mod:`symnet.nn.emlp`: typed equivariant linear, bilinear and gate.

All three act on vectors in *type-major* layout (:class:`~symnet.nn._emlp_reps.Layout`):
the copies of each type are contiguous, ``(..., m, d)`` once reshaped. The
bases between types come from :func:`~symnet.nn.equivariant_basis` (float64,
cached) and are read in the dtype of the parameters, so a float32 model cast
with ``.double()`` is equivariant to float64 round-off.
"""

from __future__ import annotations

import math
from collections import Counter

import torch
from torch import Tensor, nn

from symnet.groups import Group
from symnet.groups.reps import Scalar
from symnet.nn._emlp_reps import Layout, signature
from symnet.nn.equivariant_linear import equivariant_basis

__all__ = ["Gate", "TypedBilinear", "TypedLinear", "gated"]

#: Largest ``d_a d_b d_c`` of a bilinear product whose basis is solved.
BILINEAR_MAX = 4096
#: Largest product for types whose building blocks are unknown (nested sums).
BILINEAR_MAX_UNKNOWN = 1024
#: Most product channels per bilinear triple.
BILINEAR_RANK = 8
#: Include the products with scalars (``s x T -> T``, ``s x s -> s``), as EMLP does.
SCALAR_PRODUCTS = True
#: Scale of the bilinear term at initialisation, relative to its unit-variance inputs. Small
#: (EMLP also scales its bilinear term by 0.1): at 0.5 the output of a three-layer network at
#: initialisation is dominated by its degree-8 terms and its trained errors by rare inputs.
BILINEAR_SCALE = 0.1
#: Basis entries at most this large are round-off zeros (the bases are orthonormal).
_ZERO = 1e-14
_F64 = torch.float64


class _Sparse(nn.Module):
    """A matrix assembled from coefficients: ``W.flat[idx] += coeffs[cidx] * vals``.

    The index arrays and the float64 values are kept outside the module's
    buffers and read in the dtype and device of the coefficients (cached), so
    a float32 model cast with ``.double()`` uses the exact float64 values.
    """

    def __init__(self, shape: tuple[int, int], parts: list[tuple[Tensor, Tensor, Tensor]]) -> None:
        super().__init__()
        self.shape = shape
        cat = [torch.cat(t) if t else torch.zeros(0) for t in zip(*parts, strict=True)]
        empty = torch.zeros(0, dtype=torch.long)
        self._idx = cat[0].long() if cat else empty
        self._cidx = cat[1].long() if cat else empty
        self._vals = cat[2].double() if cat else torch.zeros(0, dtype=_F64)
        self._cache: dict[tuple[torch.dtype, torch.device], tuple[Tensor, Tensor, Tensor]] = {}

    def matrix(self, coeffs: Tensor) -> Tensor:
        """The matrix, shape ``shape``, in the dtype and device of ``coeffs``."""
        key = (coeffs.dtype, coeffs.device)
        if key not in self._cache:
            dev = coeffs.device
            self._cache[key] = (
                self._idx.to(dev),
                self._cidx.to(dev),
                self._vals.to(dtype=coeffs.dtype, device=dev),
            )
        idx, cidx, vals = self._cache[key]
        flat = coeffs.new_zeros(self.shape[0] * self.shape[1])
        return flat.index_add(0, idx, coeffs.index_select(0, cidx) * vals).view(self.shape)


def _block(
    basis: Tensor, row0: int, col0: int, m_rows: int, m_cols: int, n_cols: int, coeff0: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Indices of ``sum_k C_k (x) B_k`` placed at ``(row0, col0)`` of a matrix with ``n_cols``.

    ``basis`` has shape ``(K, d_r, d_c)``; the coefficients ``C`` of shape
    ``(K, m_rows, m_cols)`` start at ``coeff0`` of the flat coefficient vector.
    """
    k, dr, dc = basis.shape
    kk, ii, jj = torch.nonzero(basis.abs() > _ZERO, as_tuple=True)
    vals = basis[kk, ii, jj]
    o = torch.arange(m_rows)[:, None, None]
    a = torch.arange(m_cols)[None, :, None]
    rows = row0 + o * dr + ii
    cols = col0 + a * dc + jj
    cidx = coeff0 + (kk * m_rows + o) * m_cols + a
    shape = (m_rows, m_cols, len(vals))
    return (
        (rows * n_cols + cols).expand(shape).reshape(-1),
        cidx.expand(shape).reshape(-1),
        vals.expand(shape).reshape(-1),
    )


class TypedLinear(nn.Module):
    """Equivariant ``y = W x + b`` between typed layouts, assembled from sparse blocks.

    Block ``(a -> c)`` is ``sum_k C_k (x) B_k`` with ``C_k`` of shape
    ``(m_c, m_a)``; the bias of type ``c`` is ``sum_j e_j (x) u_j`` over the
    invariant vectors ``u_j`` of ``T_c``. Coefficients are ``N(0, d_c / n_c)``
    with ``n_c`` the number of weights into one copy of ``T_c`` (each output
    entry has unit variance for unit-variance inputs, as a dense LeCun
    layer); biases start at 0.
    """

    def __init__(
        self, group: Group, lay_in: Layout, lay_out: Layout, gen: torch.Generator | None
    ) -> None:
        super().__init__()
        self.lay_in, self.lay_out = lay_in, lay_out
        oi, oo = lay_in.offsets(), lay_out.offsets()
        scalar = Scalar(group)
        w_parts, b_parts, stds = [], [], []
        n_w = n_b = 0
        for c, (rc, mc) in enumerate(lay_out.entries):
            found = []
            for a, (ra, ma) in enumerate(lay_in.entries):
                basis = equivariant_basis(group, ra, rc)
                if basis.shape[0]:
                    found.append((a, ma, basis))
            fan = sum(b.shape[0] * ma for _, ma, b in found)
            for a, ma, basis in found:
                w_parts.append(_block(basis, oo[c], oi[a], mc, ma, lay_in.dim, n_w))
                n = basis.shape[0] * mc * ma
                stds.append(torch.full((n,), math.sqrt(rc.dim / fan)))
                n_w += n
            inv = equivariant_basis(group, scalar, rc)  # (J, d_c, 1)
            if inv.shape[0]:
                b_parts.append(_block(inv, oo[c], 0, mc, 1, 1, n_b))
                n_b += inv.shape[0] * mc
        std = torch.cat(stds) if stds else torch.zeros(0)
        self.weight_coeffs = nn.Parameter(torch.randn(n_w, generator=gen) * std)
        self.bias_coeffs = nn.Parameter(torch.zeros(n_b))
        self._w = _Sparse((lay_out.dim, lay_in.dim), w_parts)
        self._b = _Sparse((lay_out.dim, 1), b_parts)

    def weight(self) -> Tensor:
        """The matrix ``W`` in type-major layout, shape ``(lay_out.dim, lay_in.dim)``."""
        return self._w.matrix(self.weight_coeffs)

    def bias(self) -> Tensor:
        """The invariant bias in type-major layout, shape ``(lay_out.dim,)``."""
        return self._b.matrix(self.bias_coeffs)[:, 0]

    def forward(self, x: Tensor) -> Tensor:
        """``(n, lay_in.dim) -> (n, lay_out.dim)``, both type-major."""
        return torch.addmm(self.bias(), x, self.weight().T)


def _triples(group: Group, lay: Layout) -> list[tuple[int, int, int, Tensor]]:
    """The bilinear products ``T_a x T_b -> T_c`` kept, with their bases ``(K, d_c, d_a d_b)``.

    Kept: contractions (the blocks of ``T_c`` are those of ``T_b`` less those of
    ``T_a``, or with ``a``, ``b`` swapped) and outer products (``T_c = T_a (x) T_b``
    block for block; with a scalar, ``s x T -> T``), as EMLP's bilinear layer uses, up to
    :data:`BILINEAR_MAX` entries; any product up to :data:`BILINEAR_MAX_UNKNOWN`
    for types whose blocks are unknown. Products with no equivariant map are dropped.
    """
    out = []
    entries = lay.entries
    sigs = [signature(r) for r, _ in entries]
    for a, (ra, _) in enumerate(entries):
        for b in range(a, len(entries)):
            rb = entries[b][0]
            if not SCALAR_PRODUCTS and (isinstance(ra, Scalar) or isinstance(rb, Scalar)):
                continue
            for c, (rc, _) in enumerate(entries):
                size = ra.dim * rb.dim * rc.dim
                sa, sb, sc = sigs[a], sigs[b], sigs[c]
                if sa is None or sb is None or sc is None:
                    keep = size <= BILINEAR_MAX_UNKNOWN
                else:
                    keep = size <= BILINEAR_MAX and _related(sa, sb, sc)
                if keep:
                    basis = equivariant_basis(group, ra * rb, rc)
                    if basis.shape[0]:
                        out.append((a, b, c, basis))
    return out


def _related(sa: Counter[str], sb: Counter[str], sc: Counter[str]) -> bool:
    """Whether ``c`` is the outer product of ``a`` and ``b``, or one contracted with the other."""
    if sa + sb == sc:
        return True
    return any(
        all(big[k] >= small[k] for k in small) and big - small == sc
        for small, big in ((sa, sb), (sb, sa))
    )


class TypedBilinear(nn.Module):
    """``x -> sum_(a,b,c) M_c B_abc(U_a x_a, V_b x_b)``: equivariant bilinear maps of ``x``.

    For every pair of types ``(a, b)`` with products kept by :func:`_triples`,
    ``r`` channel mixtures ``u = U_a x_a`` and ``v = V_b x_b`` (``r <=
    BILINEAR_RANK``) are multiplied channel by channel (``u_i (x) v_i``), the
    equivariant maps ``B_k: T_a (x) T_b -> T_c`` are applied, and the ``r K``
    results are mixed into the ``m_c`` copies of ``T_c`` by ``M_c``. Channel
    mixing acts on multiplicities only, so every step commutes with the group.
    The mixtures of a type's copies are one product for all pairs; where the
    outer product ``u (x) v`` is formed, ``M_c`` and ``B`` are folded into one
    matrix (one matmul per product, no reordering of the results).

    ``M_c`` starts at ``scale`` times the size that gives unit-variance outputs
    for unit-variance inputs (default :data:`BILINEAR_SCALE`), so that the
    residual ``h + beta(h, h)`` starts close to ``h``.
    """

    def __init__(
        self,
        group: Group,
        lay: Layout,
        gen: torch.Generator | None,
        scale: float = BILINEAR_SCALE,
    ) -> None:
        super().__init__()
        self.lay = lay
        by_pair: dict[tuple[int, int], list[tuple[int, Tensor]]] = {}
        into: Counter[int] = Counter()
        for a, b, c, basis in _triples(group, lay):
            by_pair.setdefault((a, b), []).append((c, basis))
            into[c] += 1
        reads = [0] * len(lay.entries)  # mixtures taken of each type (rows of its U)
        out_std: list[Tensor] = []
        # per pair: (a, row of u in U_a, b, row of v in U_b, r, outer?, [(c, k, d_c, m_c, M_c at)])
        self._pairs: list[tuple[int, int, int, int, int, bool, list]] = []
        self._bases: list[Tensor] = []
        n_out = 0
        for (a, b), outs in by_pair.items():
            r = min(lay.entries[a][1], lay.entries[b][1], BILINEAR_RANK)
            ua, vb = reads[a], reads[b] + (r if a == b else 0)
            reads[a] += r
            reads[b] += r
            targets = []
            for c, basis in outs:
                k, dc = basis.shape[0], basis.shape[1]
                mc = lay.entries[c][1]
                targets.append((c, k, dc, mc, n_out))
                std = scale * math.sqrt(dc / (r * k * into[c]))
                out_std.append(torch.full((mc * r * k,), std))
                n_out += mc * r * k
            da, db = lay.entries[a][0].dim, lay.entries[b][0].dim
            basis = torch.cat([bs.flatten(0, 1) for _, bs in outs]).view(-1, da, db)
            self._bases.append(basis)  # (w, d_a, d_b) with w = sum_c K_c d_c
            self._pairs.append((a, ua, b, vb, r, basis.shape[0] >= db, targets))
        self.mix_in = nn.ParameterList()
        self._in_index: list[int] = []  # type -> index in mix_in (-1: none)
        for i, (_, m) in enumerate(lay.entries):
            self._in_index.append(len(self.mix_in) if reads[i] else -1)
            if reads[i]:
                self.mix_in.append(_normal((reads[i], m), 1 / math.sqrt(m), gen))
        self.mix_out = nn.Parameter(torch.randn(n_out, generator=gen) * _cat(out_std))
        self._cast: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}

    def forward(self, x: Tensor) -> Tensor:
        """``(n, lay.dim) -> (n, lay.dim)``, type-major."""
        if not self._pairs:
            return torch.zeros_like(x)
        key = (x.dtype, x.device)
        if key not in self._cast:
            self._cast[key] = [b.to(dtype=x.dtype, device=x.device) for b in self._bases]
        n = x.shape[0]
        off = self.lay.offsets()
        mixed: list[Tensor | None] = []
        for i, (rep, m) in enumerate(self.lay.entries):
            j = self._in_index[i]
            part = x[:, off[i] : off[i + 1]].view(n, m, rep.dim)
            mixed.append(None if j < 0 else torch.einsum("rm,nmd->nrd", self.mix_in[j], part))
        outs: list[Tensor | None] = [None] * len(self.lay.entries)
        for (a, ua, b, vb, r, outer, targets), basis in zip(
            self._pairs, self._cast[key], strict=True
        ):
            u, v = mixed[a][:, ua : ua + r], mixed[b][:, vb : vb + r]  # type: ignore[index]
            w, da, db = basis.shape
            if outer:  # (u (x) v) (n, r d_a d_b) times the folded matrix sum_k M_k B_k
                uv = (u.unsqueeze(-1) * v.unsqueeze(-2)).reshape(n, r * da * db)
                k0 = 0
                for c, k, dc, mc, at in targets:
                    mix = self.mix_out[at : at + mc * r * k].view(mc, r, k)
                    fold = torch.einsum(
                        "ork,kcp->ocrp", mix, basis[k0 : k0 + k * dc].view(k, dc, -1)
                    )
                    z = uv @ fold.reshape(mc * dc, -1).T
                    outs[c] = z if outs[c] is None else outs[c] + z
                    k0 += k * dc
                continue
            # contract v first: (n r, w d_a), no d_a d_b outer product
            bv = (v.reshape(n * r, db) @ basis.view(-1, db).T).view(n, r, w, da)
            y = (bv * u.unsqueeze(-2)).sum(-1)  # (n, r, w)
            k0 = 0
            for c, k, dc, mc, at in targets:
                yc = y[:, :, k0 : k0 + k * dc].reshape(n, r * k, dc)
                mix = self.mix_out[at : at + mc * r * k].view(mc, r * k)
                z = torch.einsum("oj,njc->noc", mix, yc).reshape(n, mc * dc)
                outs[c] = z if outs[c] is None else outs[c] + z
                k0 += k * dc
        return torch.cat(
            [
                o if o is not None else x.new_zeros(n, m * rep.dim)
                for o, (rep, m) in zip(outs, self.lay.entries, strict=True)
            ],
            -1,
        )


def _normal(shape: tuple[int, ...], std: float, gen: torch.Generator | None) -> nn.Parameter:
    return nn.Parameter(torch.randn(*shape, generator=gen) * std)


def _cat(parts: list[Tensor]) -> Tensor:
    return torch.cat(parts) if parts else torch.zeros(0)


class Gate(nn.Module):
    """Gated nonlinearity: ``x_i sigmoid(x_gate(i))``, dropping the gates.

    A scalar channel is its own gate (``x sigmoid(x)``: SiLU); every entry of
    a non-scalar copy is multiplied by ``sigmoid`` of that copy's gate, an
    invariant scalar, so the map is equivariant for every group.

    Parameters
    ----------
    lay : Layout
        The values' layout; the input holds ``lay.dim`` values in type-major
        order, then one gate per non-scalar copy, in the same order.
    """

    def __init__(self, lay: Layout) -> None:
        super().__init__()
        self.dim = lay.dim
        index, g = [], lay.dim
        for r, m in lay.entries:
            if isinstance(r, Scalar):
                index.extend(range(len(index), len(index) + m))
            else:
                for _ in range(m):
                    index.extend([g] * r.dim)
                    g += 1
        self.n_gates = g - lay.dim
        self._index = torch.tensor(index, dtype=torch.long)

    def forward(self, x: Tensor) -> Tensor:
        """``(n, dim + n_gates) -> (n, dim)``."""
        if self._index.device != x.device:
            self._index = self._index.to(x.device)
        return x[:, : self.dim] * torch.sigmoid(x.index_select(1, self._index))


def gated(lay: Layout, group: Group) -> Layout:
    """``lay`` followed by one gate scalar per non-scalar copy (the linear layer's output)."""
    g = sum(m for r, m in lay.entries if not isinstance(r, Scalar))
    if g == 0:
        return lay
    ar = torch.arange(lay.dim + g)
    return Layout((*lay.entries, (Scalar(group), g)), ar, ar)
