r"""PaiNN: message passing with scalar and vector features on dense, batched point clouds.

:class:`PaiNNLayer` is one interaction (message + update block) of K. T.
Schütt, O. T. Unke and M. Gastegger, "Equivariant message passing for the
prediction of tensorial properties and molecular spectra", ICML 2021, on the
fully connected graph of each point cloud (pairs beyond ``cutoff`` masked out);
:class:`PaiNN` stacks them between embeddings and output heads. The
message-passing twin on sparse ``torch_geometric`` graphs is
:class:`~symnet.nn.PaiNNConv`, with the same parameters and the same outputs.

Kinds (see :mod:`symnet.groups`): scalar features ``scalar`` ``(..., N, F)``,
positions ``point`` ``(..., N, d)``, vector features :data:`VECTOR_CHANNELS`
``(..., N, C, d)``: ``C`` channels of polar vectors per particle (rotations and
reflections act on the last axis, permutations on the particle axis ``-3``,
translations not at all). The layers are equivariant under E(d) with
reflections and under permutations of the particles.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from symnet.groups.utils import euclidean_group
from symnet.nn._egnn_core import check_dtypes
from symnet.nn._painn_core import (
    VECTOR_CHANNELS,
    PaiNNCore,
    channel_linear,
    check_int,
    check_mask,
    check_points,
    check_vector_input,
    check_vectors,
    copy_modules,
    masked,
)
from symnet.nn.features import safe_norm

__all__ = ["VECTOR_CHANNELS", "PaiNN", "PaiNNLayer"]


class PaiNNLayer(PaiNNCore, nn.Module):
    r"""One PaiNN interaction (message and update block) on the dense graph of each cloud.

    With ``r_ij = x_i - x_j`` and the sum (default) or mean over the
    neighbours ``j != i`` (all of them, or those with ``|r_ij| < cutoff``)::

        (a_ij, b_ij, c_ij) = phi(s_j) * W(|r_ij|)
        s_i <- s_i + sum_j a_ij
        v_i <- v_i + sum_j (b_ij v_j + c_ij r_ij / |r_ij|)
        (a_vv, a_sv, a_ss) = psi(s_i, |V v_i|)
        s_i <- s_i + a_ss + a_sv <U v_i, V v_i>,   v_i <- v_i + a_vv U v_i

    ``phi`` is ``Linear(F, F), SiLU, Linear(F, 3F)``; ``W(r) = Linear(n_rbf,
    3F)(rbf(r)) f_c(r)`` with ``rbf_n(r) = sin(n pi r / r_c) / r`` and the
    cosine cutoff ``f_c`` (1 without a cutoff); ``psi`` is ``Linear(2F, F),
    SiLU, Linear(F, 3F)``; ``U``, ``V`` are ``F x F`` maps of the channels
    (no bias: a bias would not be equivariant). ``|V v_i|`` and ``<U v_i, V
    v_i>`` are per channel.

    Parameters
    ----------
    features : int
        ``F``: scalar channels, and vector channels, per particle.
    n_rbf : int
        Radial basis functions (default 20).
    cutoff : float, optional
        Pairs with ``|r_ij| >= cutoff`` do not interact; the cosine cutoff
        makes each pair's contribution and its derivative vanish there, so the
        output is continuously differentiable as a pair crosses it (with
        ``aggregation="sum"``: a mean counts neighbours and jumps). Default:
        every pair interacts.
    rbf_cutoff : float, optional
        ``r_c`` of the radial basis; default ``cutoff``, or 5.0 without one.
        Beyond ``r_c`` the basis keeps oscillating (decaying as ``1/r``):
        without a cutoff, choose it about the largest distance of the data.
    aggregation : str
        ``"sum"`` (default, the paper's) or ``"mean"`` over the neighbours.
    dim : int
        Spatial dimension ``d`` of the declared :attr:`group` (default 3; the
        layer itself works in any ``d``).
    edge_features : int
        ``E``, invariant pair attributes ``a_ij`` (e.g. ``q_i q_j``) entering
        the filter, ``W(r, a_ij) = Linear([rbf(r), a_ij]) f_c(r)`` (default 0).
    normalize : bool
        Pre-norms (default True; False: the paper's layer): the message and
        the update block each read normalised copies of ``s`` (``LayerNorm``)
        and ``v`` (``v_c / sqrt(mean_c |v_c|^2 + eps)``, a learned scale per
        channel) and add their output to the un-normalised ``s``, ``v``.
        Without, the update block squares magnitudes each layer, and deep
        stacks on large input vectors (velocities) overflow.

    Attributes
    ----------
    group : Group
        ``Translation(d) * Rotation(d) * Reflection(d) * Permutation()``.
    in_kinds, out_kinds : tuple
        ``("scalar", "point", VECTOR_CHANNELS)`` and ``("scalar", VECTOR_CHANNELS)``.

    Examples
    --------
    >>> import torch
    >>> from symnet.testing import assert_equivariant
    >>> layer = PaiNNLayer(8, cutoff=3.0).double()
    >>> s, x = torch.randn(2, 5, 8).double(), torch.randn(2, 5, 3).double()
    >>> v = torch.randn(2, 5, 8, 3).double()
    >>> [t.shape for t in layer(s, x, v)]
    [torch.Size([2, 5, 8]), torch.Size([2, 5, 8, 3])]
    >>> layer.group
    Translation(3) x Rotation(3) x Reflection(3) x Permutation()
    >>> assert_equivariant(layer, (s, x, v)).passed
    True
    """

    def __init__(
        self,
        features: int,
        n_rbf: int = 20,
        *,
        cutoff: float | None = None,
        rbf_cutoff: float | None = None,
        aggregation: str = "sum",
        dim: int = 3,
        edge_features: int = 0,
        normalize: bool = True,
    ) -> None:
        nn.Module.__init__(self)
        self._build(features, n_rbf, cutoff=cutoff, rbf_cutoff=rbf_cutoff,
                    aggregation=aggregation, dim=dim, edge_features=edge_features,
                    normalize=normalize)  # fmt: skip
        self.group = euclidean_group(self.dim, reflections=True)
        self.in_kinds = ("scalar", "point", VECTOR_CHANNELS)
        self.out_kinds = ("scalar", VECTOR_CHANNELS)

    def __repr__(self) -> str:
        return f"PaiNNLayer({self._repr_args()})"

    @classmethod
    def from_conv(cls, conv: PaiNNCore, share: bool = True) -> PaiNNLayer:
        """The dense layer with the parameters of a :class:`~symnet.nn.PaiNNConv`.

        Parameters
        ----------
        conv : PaiNNConv
            The message-passing layer.
        share : bool
            Share the parameter modules (default; training one trains both), or copy them.
        """
        layer = cls(**conv.config())
        copy_modules(conv, layer, share)
        return layer

    def forward(
        self,
        h: Tensor,
        x: Tensor,
        v: Tensor | None = None,
        mask: Tensor | None = None,
        edge_attr: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Update scalar and vector features.

        Parameters
        ----------
        h : Tensor
            Scalar features, shape ``(..., N, F)``.
        x : Tensor
            Positions, shape ``(..., N, d)``.
        v : Tensor, optional
            Vector features, shape ``(..., N, F, d)``; default zeros.
        mask : Tensor, optional
            Boolean, shape ``(..., N)``: False marks padding. Padded particles
            send and receive no messages and do not count in a mean; they come
            back unchanged, and their entries (NaN included) never reach the
            real particles' outputs or gradients.
        edge_attr : Tensor, optional
            Shape ``(..., N, N, edge_features)``, ``a_ij`` at ``[..., i, j, :]``;
            required exactly when ``edge_features > 0``.

        Returns
        -------
        tuple of Tensor
            ``h'`` ``(..., N, F)`` and ``v'`` ``(..., N, F, d)``.

        Raises
        ------
        TypeError
            An input not floating point or not in the dtype of the parameters.
        ValueError
            Shapes that disagree (the message names the argument).
        """
        self._check_dtypes(h=h, x=x, v=v, edge_attr=edge_attr)
        check_points(h, x, self.features)
        if v is None:
            v = x.new_zeros((*x.shape[:-1], self.features, x.shape[-1]))
        check_vectors(v, "v", tuple(x.shape[:-1]), self.features, x.shape[-1])
        check_mask(mask, x)
        if mask is None:
            return self._interact(h, v, *self._geometry(x, None, edge_attr))
        hm, xm, vm = masked(mask, h, x, v)
        h_new, v_new = self._interact(hm, vm, *self._geometry(xm, mask, edge_attr))
        return masked(mask, h_new, v_new, fill=(h, v))


class PaiNN(nn.Module):
    r"""A stack of :class:`PaiNNLayer` between embeddings and gated output heads.

    Scalars ``h -> Linear(in_features, hidden)``; input vector channels ``v ->
    W v`` (a ``hidden x in_vector_features`` map of the channels; zeros
    without input vectors); then ``n_layers`` x :class:`PaiNNLayer`
    (``hidden``). Heads: scalars ``Linear(hidden, hidden), SiLU,
    Linear(hidden, out_features)`` (none when ``out_features`` is None);
    vectors a gated equivariant block (the paper's Fig. 3), ``v_out = g(s,
    |W_2 v|) * W_1 v`` with ``W_1, W_2`` maps of the channels and ``g`` an
    MLP, ``out_vector_features`` channels.

    **Predicting positions** (``predict_positions=True``; dynamics such as
    EGNN's N-body task): the first output vector channel is a displacement,
    and ``forward`` returns ``(h_out, x + v_out[..., 0, :], v_out)``. New
    positions transform as points (E(d)-equivariant, translated with the
    input), ``v_out`` as vectors (translations leave it unchanged).
    ``out_vector_features`` is then at least 1.

    Parameters
    ----------
    in_features : int
        Scalar features in, per particle.
    hidden : int
        ``F``: scalar and vector channels of the layers.
    out_features : int, optional
        Scalar features out; default ``hidden`` (no scalar head).
    n_layers : int
        Number of :class:`PaiNNLayer` (default 3).
    cutoff, n_rbf, rbf_cutoff, aggregation, edge_features, normalize
        Passed to every :class:`PaiNNLayer` (``cutoff=None``: fully connected).
    in_vector_features : int
        ``C_in``, vector channels in (default 0: no ``v``).
    out_vector_features : int
        ``C_out``, vector channels out (default 0: ``v_out`` of shape ``(...,
        N, 0, d)``; 1 with ``predict_positions``).
    predict_positions : bool
        Return new positions, see above.
    dim : int
        Spatial dimension of the declared :attr:`group` (default 3).

    Attributes
    ----------
    group : Group
        ``Translation(d) * Rotation(d) * Reflection(d) * Permutation()``.
    in_kinds, out_kinds : tuple
        ``("scalar", "point")`` (with :data:`VECTOR_CHANNELS` for ``v``);
        ``("scalar", VECTOR_CHANNELS)``, or ``("scalar", "point",
        VECTOR_CHANNELS)`` with ``predict_positions``.

    Examples
    --------
    N-body style: charges as scalars, velocities as one vector channel.

    >>> import torch
    >>> model = PaiNN(1, 16, 1, n_layers=2, in_vector_features=1, predict_positions=True)
    >>> q, x, v = torch.randn(8, 5, 1), torch.randn(8, 5, 3), torch.randn(8, 5, 1, 3)
    >>> h_out, x_new, v_out = model(q, x, v)
    >>> h_out.shape, x_new.shape, v_out.shape
    (torch.Size([8, 5, 1]), torch.Size([8, 5, 3]), torch.Size([8, 5, 1, 3]))
    """

    def __init__(
        self,
        in_features: int,
        hidden: int,
        out_features: int | None = None,
        n_layers: int = 3,
        *,
        cutoff: float | None = None,
        n_rbf: int = 20,
        in_vector_features: int = 0,
        out_vector_features: int = 0,
        dim: int = 3,
        rbf_cutoff: float | None = None,
        aggregation: str = "sum",
        predict_positions: bool = False,
        edge_features: int = 0,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, 1)
        self.hidden = check_int("hidden", hidden, 1)
        check_int("n_layers", n_layers, 1)
        self.out_features = hidden if out_features is None else check_int(
            "out_features", out_features, 1
        )  # fmt: skip
        self.in_vector_features = check_int("in_vector_features", in_vector_features, 0)
        c_out = check_int("out_vector_features", out_vector_features, 0)
        self.predict_positions = bool(predict_positions)
        self.out_vector_features = max(c_out, 1) if self.predict_positions else c_out
        self.embedding = nn.Linear(in_features, hidden)
        c_in = self.in_vector_features
        self.vector_embedding = nn.Linear(c_in, hidden, bias=False) if c_in else None
        opts = {"cutoff": cutoff, "rbf_cutoff": rbf_cutoff, "aggregation": aggregation,
                "dim": dim, "edge_features": edge_features, "normalize": normalize}  # fmt: skip
        self.layers = nn.ModuleList(PaiNNLayer(hidden, n_rbf, **opts) for _ in range(n_layers))
        self.head = (
            nn.Identity()
            if out_features is None
            else nn.Sequential(
                nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, out_features)
            )
        )
        c = self.out_vector_features
        if c:
            self.vector_head = nn.Linear(hidden, 2 * c, bias=False)  # W_1, W_2 stacked
            self.gate = nn.Sequential(
                nn.Linear(hidden + c, hidden), nn.SiLU(), nn.Linear(hidden, c)
            )
        else:
            self.vector_head, self.gate = None, None
        self.dim = self.layers[0].dim
        self.group = euclidean_group(self.dim, reflections=True)
        self.in_kinds = ("scalar", "point") + (
            (VECTOR_CHANNELS,) if self.in_vector_features else ()
        )
        pos = ("point",) if self.predict_positions else ()
        self.out_kinds = ("scalar", *pos, VECTOR_CHANNELS)

    def __repr__(self) -> str:
        first = self.layers[0]._repr_args().split(", ", 1)
        args = [str(self.in_features), str(self.hidden)]
        if not isinstance(self.head, nn.Identity):
            args.append(str(self.out_features))
        args.append(f"n_layers={len(self.layers)}")
        if len(first) > 1:
            args.append(first[1])
        for name in ("in_vector_features", "out_vector_features", "predict_positions"):
            if getattr(self, name):
                args.append(f"{name}={getattr(self, name)!r}")
        return f"PaiNN({', '.join(args)})"

    def forward(
        self,
        h: Tensor,
        x: Tensor,
        v: Tensor | None = None,
        mask: Tensor | None = None,
        edge_attr: Tensor | None = None,
    ) -> tuple[Tensor, ...]:
        """Run the stack.

        Parameters
        ----------
        h : Tensor
            Scalar features, shape ``(..., N, in_features)``.
        x : Tensor
            Positions, shape ``(..., N, d)``.
        v : Tensor, optional
            Vector features, shape ``(..., N, in_vector_features, d)``;
            required exactly when ``in_vector_features > 0``.
        mask : Tensor, optional
            Boolean, shape ``(..., N)``, False for padding: padded particles
            never influence real ones (their entries may hold anything, NaN
            included); their outputs are 0 (positions: returned unchanged).
        edge_attr : Tensor, optional
            Shape ``(..., N, N, edge_features)``; required exactly when
            ``edge_features > 0``.

        Returns
        -------
        tuple of Tensor
            ``h_out`` ``(..., N, out_features)`` and ``v_out`` ``(..., N,
            out_vector_features, d)``; with ``predict_positions``, ``(h_out,
            x_out, v_out)``, ``x_out = x + v_out[..., 0, :]`` ``(..., N, d)``.

        Raises
        ------
        TypeError
            An input not floating point or not in the dtype of the parameters.
        ValueError
            Shapes that disagree, a missing or unexpected ``v``.
        """
        check_dtypes(type(self).__name__, self.embedding.weight, h=h, x=x, v=v, edge_attr=edge_attr)
        check_points(h, x, self.in_features)
        check_mask(mask, x)
        x_in = x
        if mask is not None:
            h, x = masked(mask, h, x)
            v = None if v is None else masked(mask, v)[0]
        lead, d = tuple(x.shape[:-1]), x.shape[-1]
        check_vector_input(v, lead, self.in_vector_features, d)
        if self.vector_embedding is None:
            vec = x.new_zeros((*lead, self.hidden, d))
        else:
            vec = channel_linear(v, self.vector_embedding.weight)
        s = self.embedding(h)
        geometry = self.layers[0]._geometry(
            x, mask, edge_attr
        )  # the same for every layer: computed once
        for layer in self.layers:
            s, vec = layer._interact(s, vec, *geometry)
        h_out = self.head(s)
        if self.vector_head is None:
            v_out = x.new_zeros((*lead, 0, d))
        else:
            w1, w2 = channel_linear(vec, self.vector_head.weight).chunk(2, -2)
            g = self.gate(torch.cat([s, safe_norm((w2 * w2).sum(-1))], -1))
            v_out = g[..., None] * w1
        if mask is not None:
            h_out, v_out = masked(mask, h_out, v_out)
        if self.predict_positions:
            return h_out, x_in + v_out[..., 0, :], v_out
        return h_out, v_out
