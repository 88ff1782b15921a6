"""The math of one PaiNN layer, shared by the dense and the PyG layer.

Private module. :class:`~symnet.nn.PaiNNLayer` (dense, batched) and
:class:`~symnet.nn.PaiNNConv` (``torch_geometric`` message passing) both mix in
:class:`PaiNNCore`: the same parameter modules under the same names (the state
dict of one loads into the other) and the same per-edge and per-node functions;
only the gathering of pairs and the aggregation differ.

The layer is that of K. T. Schütt, O. T. Unke and M. Gastegger, "Equivariant
message passing for the prediction of tensorial properties and molecular
spectra", ICML 2021 (eqs. 7-12): scalar channels ``s_i`` ``(F,)`` and vector
channels ``v_i`` ``(F, d)`` per particle, ``r_ij = x_i - x_j``::

    (a_ij, b_ij, c_ij) = phi(s_j) * W(|r_ij|)                (three (F,) parts)
    s_i <- s_i + agg_j a_ij
    v_i <- v_i + agg_j (b_ij v_j + c_ij r_ij / |r_ij|)                (message)
    (a_vv, a_sv, a_ss) = psi(s_i, |V v_i|)
    v_i <- v_i + a_vv U v_i
    s_i <- s_i + a_ss + a_sv <U v_i, V v_i>                            (update)

``W(r) = Linear(rbf(r)) f_c(r)`` with the radial basis ``rbf_n(r) = sin(n pi r
/ r_c) / r`` (``n = 1 .. n_rbf``) and the cosine cutoff ``f_c(r) = (cos(pi r /
r_c) + 1) / 2`` for ``r < r_c``, 0 beyond. Only lengths, dot products and
norms of vectors enter the gates, and vectors are only combined linearly with
invariant coefficients: the layer is equivariant under O(d) (rotations and
reflections, ``v`` a polar vector), translations and permutations. With
``normalize`` (the layers' default) each block reads pre-normalised copies of
``s`` and ``v`` (``LayerNorm`` and :class:`VectorNorm`) and adds its output to
them un-normalised.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symnet.groups.kinds import VECTOR_CHANNELS
from symnet.nn._egnn_core import check_aggregation, check_dtypes
from symnet.nn._painn_checks import (
    check_mask,
    check_points,
    check_vector_input,
    check_vectors,
    masked,
)
from symnet.nn.features import safe_norm

__all__ = [
    "DEFAULT_RBF_CUTOFF",
    "VECTOR_CHANNELS",
    "PaiNNCore",
    "VectorNorm",
    "channel_linear",
    "check_int",
    "check_mask",
    "check_points",
    "check_vector_input",
    "check_vectors",
    "copy_modules",
    "cosine_cutoff",
    "masked",
    "sine_rbf",
]

#: Length scale of the radial basis without a cutoff (``cutoff=None``, ``rbf_cutoff=None``).
DEFAULT_RBF_CUTOFF = 5.0


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int ``>= minimum``, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _check_length(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be None or a positive finite number, got {value!r}")
    return float(value)


def sine_rbf(r: Tensor, n_rbf: int, length: float) -> Tensor:
    """``sin(n pi r / length) / r`` for ``n = 1 .. n_rbf``, shape ``(*r.shape, n_rbf)``.

    At ``r = 0`` (a particle and itself, or two coinciding particles) the
    value is the limit ``n pi / length``, with derivatives of every order
    finite there (a double ``torch.where``; ``torch.sinc`` would give NaN
    second derivatives at 0, which training on forces needs).
    """
    k = torch.arange(1, n_rbf + 1, dtype=r.dtype, device=r.device) * (math.pi / length)
    zero = (r == 0)[..., None]
    safe = torch.where(zero, 1.0, r[..., None])
    return torch.where(zero, k, torch.sin(safe * k) / safe)


def cosine_cutoff(r: Tensor, cutoff: float) -> Tensor:
    """``(cos(pi r / cutoff) + 1) / 2`` for ``r < cutoff``, else 0 (value and slope 0 at it)."""
    inside = r < cutoff
    return torch.where(inside, 0.5 * (torch.cos(r * (math.pi / cutoff)) + 1.0), 0.0)


def channel_linear(v: Tensor, weight: Tensor) -> Tensor:
    """``W v`` on the channel axis: ``v`` ``(..., C_in, d)``, ``weight`` ``(C_out, C_in)``.

    One matrix product over all the ``(..., d)`` rows (``torch.matmul(weight,
    v)`` would broadcast ``weight`` to one copy per particle).
    """
    return F.linear(v.transpose(-1, -2), weight).transpose(-1, -2)


class PaiNNCore:
    """Parameters and per-edge / per-node functions of a PaiNN layer (a mixin).

    Subclasses call :meth:`_build` after ``nn.Module.__init__``.
    """

    features: int
    n_rbf: int
    cutoff: float | None
    rbf_cutoff: float
    aggregation: str
    context_mlp: nn.Sequential
    filter: nn.Linear
    update_mlp: nn.Sequential
    U: nn.Linear
    V: nn.Linear

    def _build(
        self,
        features: int,
        n_rbf: int,
        *,
        cutoff: float | None,
        rbf_cutoff: float | None,
        aggregation: str,
        dim: int,
        edge_features: int = 0,
        normalize: bool = True,
    ) -> None:
        f = check_int("features", features, 1)
        self.edge_features = check_int("edge_features", edge_features, 0)
        self.n_rbf = check_int("n_rbf", n_rbf, 1)
        self.cutoff = _check_length("cutoff", cutoff)
        length = _check_length("rbf_cutoff", rbf_cutoff)
        if length is None:
            length = self.cutoff if self.cutoff is not None else DEFAULT_RBF_CUTOFF
        self.rbf_cutoff = length
        check_aggregation(aggregation)
        self.aggregation = aggregation
        self.features = f
        self.dim = check_int("dim", dim, 2)
        self.context_mlp = nn.Sequential(nn.Linear(f, f), nn.SiLU(), nn.Linear(f, 3 * f))
        self.filter = nn.Linear(self.n_rbf + self.edge_features, 3 * f)
        self.U = nn.Linear(f, f, bias=False)
        self.V = nn.Linear(f, f, bias=False)
        self.update_mlp = nn.Sequential(nn.Linear(2 * f, f), nn.SiLU(), nn.Linear(f, 3 * f))
        self.normalize = bool(normalize)
        #: Pre-norms of the message and the update block (scalars, vectors), or None.
        self.norms = (
            nn.ModuleList([nn.LayerNorm(f), VectorNorm(f), nn.LayerNorm(f), VectorNorm(f)])
            if self.normalize
            else None
        )

    # ------------------------------------------------------------- config
    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild a layer of the same shape."""
        return {
            "features": self.features,
            "n_rbf": self.n_rbf,
            "cutoff": self.cutoff,
            "rbf_cutoff": self.rbf_cutoff,
            "aggregation": self.aggregation,
            "dim": self.dim,
            "edge_features": self.edge_features,
            "normalize": self.normalize,
        }

    def _repr_args(self) -> str:
        cfg = self.config()
        args = [str(cfg.pop("features"))]
        default_length = self.cutoff if self.cutoff is not None else DEFAULT_RBF_CUTOFF
        defaults = {"n_rbf": 20, "cutoff": None, "rbf_cutoff": default_length, "dim": 3,
                    "aggregation": "sum", "edge_features": 0, "normalize": True}  # fmt: skip
        args += [f"{k}={v!r}" for k, v in cfg.items() if v != defaults[k]]
        return ", ".join(args)

    def _check_dtypes(self, **inputs: Tensor | None) -> None:
        check_dtypes(type(self).__name__, self.filter.weight, **inputs)

    # ---------------------------------------------------------- the math
    def _context(self, s: Tensor) -> Tensor:
        """``phi(s_j)`` per node, shape ``(..., 3F)``."""
        return self.context_mlp(s)

    def _pair_basis(
        self, diff: Tensor, weight: Tensor | None = None, edge_attr: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """The radial basis (cutoff and pair weights folded in) and unit directions of pairs.

        Parameters
        ----------
        diff : Tensor
            ``r_ij = x_i - x_j``, shape ``(*P, d)``.
        weight : Tensor, optional
            Per-pair weights ``w_ij`` broadcastable to ``P`` (0 for non-pairs,
            ``1 / count`` for a mean).
        edge_attr : Tensor, optional
            Pair attributes ``a_ij``, shape ``(*P, edge_features)``.

        Returns
        -------
        basis : Tensor
            ``[rbf(r) g, a_ij g, g]`` with ``g = f_c(r) w_ij``, shape ``(*P,
            n_rbf + edge_features + 1)``: :meth:`_filters` maps it to ``W(r,
            a_ij) g`` (bias included) by one matmul, and the dense stack
            computes it once for all its layers.
        unit : Tensor
            ``r_ij / |r_ij|`` (0 where ``r_ij = 0``), shape ``(*P, d)``.
        """
        r = safe_norm((diff * diff).sum(-1))
        g = torch.ones_like(r) if self.cutoff is None else cosine_cutoff(r, self.cutoff)
        if weight is not None:
            g = g * weight
        g = g[..., None]
        parts = [sine_rbf(r, self.n_rbf, self.rbf_cutoff) * g, g]
        if edge_attr is not None:
            parts.insert(1, edge_attr * g)
        basis = torch.cat(parts, -1)
        unit = diff / torch.where(r == 0, 1.0, r)[..., None]
        return basis, unit

    def _filters(self, basis: Tensor) -> Tensor:
        """``W(r, a) g = (A [rbf(r), a] + b) g`` from :meth:`_pair_basis`, shape ``(*P, 3F)``."""
        weight = torch.cat([self.filter.weight, self.filter.bias[:, None]], 1)
        return F.linear(basis, weight)

    def _geometry(
        self, x: Tensor, mask: Tensor | None = None, edge_attr: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Pair basis (pair weights folded in) and directions of the dense graph of ``x``.

        The weights are 0 on the diagonal, for pairs with padding (``mask``)
        and, for a mean, ``1 / count`` of each particle's neighbours. Returns
        shapes ``(..., N, N, n_rbf + edge_features + 1)`` and ``(..., N, N,
        d)``, pair ``(i, j)`` at ``[..., i, j, :]``; ``edge_attr`` ``(..., N,
        N, edge_features)``.
        """
        self._check_edge_attr(edge_attr, (*x.shape[:-1], x.shape[-2]))
        n = x.shape[-2]
        diff = x[..., :, None, :] - x[..., None, :, :]  # (..., N, N, d): x_i - x_j
        keep = 1.0 - torch.eye(n, dtype=x.dtype, device=x.device)
        if mask is not None:
            m = mask.to(x.dtype)
            keep = keep * m[..., :, None] * m[..., None, :]
            if edge_attr is not None:  # padded pairs may hold anything, NaN included
                pair = mask[..., :, None] & mask[..., None, :]
                edge_attr = torch.where(pair[..., None], edge_attr, 0.0)
        if self.aggregation == "mean":
            if self.cutoff is not None:
                keep = keep * ((diff * diff).sum(-1) < self.cutoff**2)
            keep = keep / keep.sum(-1, keepdim=True).clamp(min=1.0)
        return self._pair_basis(diff, keep, edge_attr)

    def _check_edge_attr(self, edge_attr: Tensor | None, pairs: tuple[int, ...]) -> None:
        """``edge_attr`` must be given exactly with ``edge_features``, of shape ``(*pairs, E)``."""
        e = self.edge_features
        if edge_attr is None:
            if e:
                raise ValueError(f"this layer was built with edge_features={e}: pass edge_attr")
            return
        if not e:
            raise ValueError("edge_attr was given but the layer has edge_features=0")
        if tuple(edge_attr.shape) != (*pairs, e):
            raise ValueError(
                f"edge_attr must have shape {(*pairs, e)}, got {tuple(edge_attr.shape)}"
            )

    def _interact(self, h: Tensor, v: Tensor, basis: Tensor, unit: Tensor) -> tuple[Tensor, Tensor]:
        """Dense message and update blocks, given the pair geometry of :meth:`_geometry`."""
        s_n, v_n = self._pre_norm(h, v, 0)
        coef = self._context(s_n)[..., None, :, :] * self._filters(basis)
        a, b, c = coef.chunk(3, -1)  # (..., N, N, F) each, [..., i, j, :]
        # sum_j b_ij v_j and sum_j c_ij u_ij as batched matrix products (no (N, N, F, d) tensor)
        dv = (b.movedim(-1, -3) @ v_n.transpose(-2, -3)).transpose(-2, -3)
        dv = dv + c.transpose(-1, -2) @ unit
        return self._update(h + a.sum(-2), v + dv)

    def _pre_norm(self, s: Tensor, v: Tensor, block: int) -> tuple[Tensor, Tensor]:
        """With ``normalize``: the normalised copies that block 0 (message) or 1 (update) reads."""
        if self.norms is None:
            return s, v
        return self.norms[2 * block](s), self.norms[2 * block + 1](v)

    def _update(self, s: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """The update block: ``s`` ``(..., F)``, ``v`` ``(..., F, d)`` -> new ``s``, ``v``."""
        s_n, v_n = self._pre_norm(s, v, 1)
        uv = channel_linear(v_n, self.U.weight)
        vv = channel_linear(v_n, self.V.weight)
        norm = safe_norm((vv * vv).sum(-1))
        a_vv, a_sv, a_ss = self.update_mlp(torch.cat([s_n, norm], -1)).chunk(3, -1)
        return s + a_ss + a_sv * (uv * vv).sum(-1), v + a_vv[..., None] * uv


class VectorNorm(nn.Module):
    """``v_c / sqrt(mean_c |v_c|^2 + eps) * gamma_c``: an equivariant RMS norm of vector channels.

    ``v`` ``(..., C, d)``; one invariant scale per particle, so rotations,
    reflections and permutations commute with it; smooth at ``v = 0``.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.eps = eps

    def forward(self, v: Tensor) -> Tensor:
        """Normalised ``v``, same shape."""
        rms = torch.rsqrt((v * v).sum(-1).mean(-1) + self.eps)  # (...,)
        return v * (rms[..., None] * self.weight)[..., None]


def copy_modules(src: nn.Module, dst: nn.Module, share: bool) -> None:
    """Give ``dst`` the parameter modules of ``src`` (shared) or copies of their values."""
    if share:
        for name in ("context_mlp", "filter", "U", "V", "update_mlp", "norms"):
            setattr(dst, name, getattr(src, name))
    else:
        dst.load_state_dict(src.state_dict())
