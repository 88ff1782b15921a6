r"""E(n)-equivariant graph neural networks on dense, batched point clouds.

:class:`EGNNLayer` is one layer of V. G. Satorras, E. Hoogeboom and M.
Welling, "E(n) Equivariant Graph Neural Networks", ICML 2021 (eqs. 3-7), on
the fully connected graph of each point cloud; :class:`EGNN` stacks them
between an input embedding and an output head. The message-passing twin on
sparse ``torch_geometric`` graphs is :class:`~symnet.nn.EGNNConv`, with the
same parameters and the same outputs.

Kinds (see :mod:`symnet.groups`): node features are ``scalar`` ``(..., N, C)``,
positions ``point`` ``(..., N, d)``, velocities ``vector`` ``(..., N, d)``. The
layers are equivariant under E(d) x S_N: translations, rotations *and
reflections* (only differences and squared norms of positions enter), and
permutations of the particles. Features are invariant under E(d).

Stability. The coordinate update uses three safeguards, each documented at
its argument: the direction ``x_i - x_j`` is divided by ``sqrt(|x_i - x_j|^2 +
1)`` (``normalize``; a smooth form of ``|x_i - x_j| + 1``, so each term has
norm below ``|phi_x|``, and differentiable where points coincide);
``aggregation="mean"`` averages over the neighbours instead of summing; and
``coord_bound=c`` bounds ``phi_x`` by ``c tanh``. With all three, no layer
moves a point by more than ``c``, whatever ``N``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from symnet.groups.utils import euclidean_group
from symnet.nn._egnn_core import EGNNCore, check_dtypes

__all__ = ["EGNN", "EGNNLayer"]


class EGNNLayer(EGNNCore, nn.Module):
    r"""One E(n)-equivariant layer on the fully connected graph of each point cloud.

    For every particle ``i`` and every other particle ``j != i`` (real ones,
    when a mask is given)::

        m_ij  = phi_e(h_i, h_j, |x_i - x_j|^2, a_ij)
        x_i' = x_i + agg_j (x_i - x_j) phi_x(m_ij) / sqrt(|x_i - x_j|^2 + 1)
        h_i' = h_i + phi_h(h_i, agg_j m_ij)

    ``agg`` is the mean (default) or the sum over ``j``. With
    ``update_velocity=True`` (paper eq. 7)::

        v_i' = phi_v(h_i) v_i + agg_j (x_i - x_j) phi_x(m_ij) / sqrt(...)
        x_i' = x_i + v_i'

    ``phi_e`` is ``Linear(2C + 1 + E, edge_hidden), SiLU, Linear(., hidden),
    SiLU``; ``phi_h`` is ``Linear(C + hidden, node_hidden), SiLU, Linear(.,
    out_features)``; ``phi_x`` is ``Linear(hidden, coord_hidden), SiLU,
    Linear(., 1)`` with its last weight initialised small (Xavier, gain 1e-3)
    so that a fresh layer hardly moves the points; ``phi_v`` is ``Linear(C,
    hidden), SiLU, Linear(., 1)``.

    Parameters
    ----------
    in_features : int
        ``C``, node features in.
    hidden : int
        Message size and default width of every hidden layer.
    out_features : int, optional
        Node features out; default ``in_features``.
    edge_features : int
        ``E``, edge attributes ``a_ij`` per pair (0: none).
    update_velocity : bool
        Take and update velocities (paper eq. 7).
    aggregation : str
        ``"mean"`` (default; bounded updates for any ``N``) or ``"sum"`` (the
        paper's; counts neighbours).
    residual : bool, optional
        ``h_i' = h_i + phi_h(...)``; default: when ``out_features ==
        in_features``.
    normalize : bool
        Divide ``x_i - x_j`` by ``sqrt(|x_i - x_j|^2 + 1)`` (default True).
    coord_bound : float, optional
        Bound ``phi_x`` to ``(-c, c)`` by ``c tanh`` (default: unbounded).
    edge_hidden, node_hidden, coord_hidden : int, optional
        Widths of the hidden layers of ``phi_e``, ``phi_h`` and ``phi_x``;
        default ``hidden``.
    dim : int
        Spatial dimension ``d`` of the declared :attr:`group` (default 3; the
        layer itself works in any ``d``).

    Attributes
    ----------
    group : Group
        ``Translation(d) * Rotation(d) * Reflection(d) * Permutation()``, the layer's symmetry.
    in_kinds, out_kinds : tuple of str
        ``("scalar", "point")``, with ``"vector"`` for velocities: what
        :func:`~symnet.testing.assert_equivariant` reads.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Permutation, Rotation, Translation
    >>> from symnet.testing import assert_equivariant
    >>> layer = EGNNLayer(4, 16)
    >>> h, x = torch.randn(2, 5, 4), torch.randn(2, 5, 3)
    >>> [t.shape for t in layer(h, x)]
    [torch.Size([2, 5, 4]), torch.Size([2, 5, 3])]
    >>> layer.group, layer.in_kinds
    (Translation(3) x Rotation(3) x Reflection(3) x Permutation(), ('scalar', 'point'))
    >>> assert_equivariant(layer, (h, x)).passed
    True
    """

    def __init__(
        self,
        in_features: int,
        hidden: int,
        out_features: int | None = None,
        *,
        edge_features: int = 0,
        update_velocity: bool = False,
        aggregation: str = "mean",
        residual: bool | None = None,
        normalize: bool = True,
        coord_bound: float | None = None,
        edge_hidden: int | None = None,
        node_hidden: int | None = None,
        coord_hidden: int | None = None,
        dim: int = 3,
    ) -> None:
        nn.Module.__init__(self)
        self._build(
            in_features, hidden, out_features, edge_features=edge_features,
            update_velocity=update_velocity, aggregation=aggregation, residual=residual,
            normalize=normalize, coord_bound=coord_bound, edge_hidden=edge_hidden,
            node_hidden=node_hidden, coord_hidden=coord_hidden,
        )  # fmt: skip
        _declare(self, dim, self.update_velocity)

    def __repr__(self) -> str:
        return f"EGNNLayer({self._repr_args()})"

    @classmethod
    def from_conv(cls, conv: EGNNCore, share: bool = True) -> EGNNLayer:
        """The dense layer with the parameters of an :class:`~symnet.nn.EGNNConv`.

        Parameters
        ----------
        conv : EGNNConv
            The message-passing layer.
        share : bool
            Share the parameter modules (default; training one trains both),
            or copy them.
        """
        layer = cls(**conv.config())
        _copy_modules(conv, layer, share)
        return layer

    def forward(
        self,
        h: Tensor,
        x: Tensor,
        v: Tensor | None = None,
        mask: Tensor | None = None,
        edge_attr: Tensor | None = None,
    ) -> tuple[Tensor, ...]:
        """Update features, positions (and velocities).

        Parameters
        ----------
        h : Tensor
            Node features, shape ``(..., N, C)``.
        x : Tensor
            Positions, shape ``(..., N, d)``.
        v : Tensor, optional
            Velocities, shape ``(..., N, d)``; required exactly when
            ``update_velocity=True``.
        mask : Tensor, optional
            Boolean, shape ``(..., N)``: False marks padding. Padded particles
            send and receive no messages, do not count in the mean, and are
            returned unchanged (features: unchanged with a residual, else 0).
            Their entries may hold anything, NaN included: they never reach
            the real particles' outputs or the gradients.
        edge_attr : Tensor, optional
            Shape ``(..., N, N, E)``, ``a_ij`` at ``[..., i, j, :]``.

        Returns
        -------
        tuple of Tensor
            ``h'`` ``(..., N, out_features)``, ``x'`` ``(..., N, d)``, and
            ``v'`` ``(..., N, d)`` when ``update_velocity``.

        Raises
        ------
        TypeError
            An input that is not floating point or not in the dtype of the
            layer's parameters (the message names it and the casts that fix
            it, e.g. ``x.float()`` or ``layer.double()``).
        ValueError
            Shapes that disagree, a missing or unexpected ``v``/``edge_attr``.
        """
        self._check_dtypes(h=h, x=x, v=v, edge_attr=edge_attr)
        _check_inputs(h, x, v, mask, self.in_features)
        self._check_velocity(v, "v")
        original = (h, x, v)
        if mask is not None:
            # padded entries may hold anything (NaN included): zero them before any
            # arithmetic, so that neither outputs nor gradients of real particles see them
            keep = mask[..., None]
            h, x = torch.where(keep, h, 0.0), torch.where(keep, x, 0.0)
            v = None if v is None else torch.where(keep, v, 0.0)
        n = x.shape[-2]
        diff = x[..., :, None, :] - x[..., None, :, :]  # (..., N, N, d): x_i - x_j
        r2 = (diff * diff).sum(-1, keepdim=True)  # (..., N, N, 1)
        a, b = self._node_projections(h)
        m = self._messages(a[..., :, None, :] + b[..., None, :, :], r2, edge_attr)
        w = _pair_weights(n, mask, self.aggregation, x)  # (..., N, N) or (N, N)
        if w.dim() == 2:
            w = w.expand(m.shape[:-1])
        m_agg = torch.einsum("...ij,...ijh->...ih", w, m)
        coef = self._coord_weights(m, r2).squeeze(-1) * w
        dx = torch.einsum("...ij,...ijd->...id", coef, diff)
        out = self._update(h, x, v, m_agg, dx, mask)
        if mask is None:
            return out
        # padded particles come back as they came in (features: with a residual)
        keep = mask[..., None]
        restored = [out[0] if not self.residual else torch.where(keep, out[0], original[0])]
        restored += [torch.where(keep, o, i) for o, i in zip(out[1:], original[1:], strict=False)]
        return tuple(restored)


class EGNN(nn.Module):
    r"""A stack of :class:`EGNNLayer` between an embedding and an output head.

    ``h -> Linear(in_features, hidden) -> n_layers x EGNNLayer(hidden, hidden)
    -> Linear(hidden, out_features)``; positions (and velocities) pass through
    every layer. Equivariant under E(d) x S_N: features in and out are kind
    ``scalar``, positions ``point``, velocities ``vector``.

    Parameters
    ----------
    in_features : int
        Node features in.
    hidden : int
        Width of the layers.
    out_features : int, optional
        Node features out; default ``hidden`` (no output head).
    n_layers : int
        Number of :class:`EGNNLayer` (default 4).
    edge_features, update_velocity, aggregation, normalize, coord_bound
        Passed to every :class:`EGNNLayer` (residual connections throughout).
    dim : int
        Spatial dimension of the declared :attr:`group` (default 3).

    Attributes
    ----------
    group : Group
        ``Translation(d) * Rotation(d) * Reflection(d) * Permutation()``.
    in_kinds, out_kinds : tuple of str
        ``("scalar", "point")``, with ``"vector"`` when ``update_velocity``.

    Examples
    --------
    >>> import torch
    >>> model = EGNN(3, 32, 1, n_layers=2, update_velocity=True)
    >>> h, x, v = torch.randn(8, 10, 3), torch.randn(8, 10, 3), torch.randn(8, 10, 3)
    >>> [t.shape[-1] for t in model(h, x, v)]
    [1, 3, 3]
    """

    def __init__(
        self,
        in_features: int,
        hidden: int,
        out_features: int | None = None,
        n_layers: int = 4,
        *,
        edge_features: int = 0,
        update_velocity: bool = False,
        aggregation: str = "mean",
        normalize: bool = True,
        coord_bound: float | None = None,
        dim: int = 3,
    ) -> None:
        super().__init__()
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
            raise ValueError(f"n_layers must be an int >= 1, got {n_layers!r}")
        self.in_features, self.hidden = in_features, hidden
        self.out_features = hidden if out_features is None else out_features
        self.update_velocity = bool(update_velocity)
        self.embedding = nn.Linear(in_features, hidden)
        self.layers = nn.ModuleList(
            EGNNLayer(
                hidden,
                hidden,
                hidden,
                edge_features=edge_features,
                update_velocity=update_velocity,
                aggregation=aggregation,
                normalize=normalize,
                coord_bound=coord_bound,
                dim=dim,
            )  # fmt: skip
            for _ in range(n_layers)
        )
        self.head = nn.Identity() if out_features is None else nn.Linear(hidden, out_features)
        _declare(self, dim, self.update_velocity)

    def __repr__(self) -> str:
        first = self.layers[0]._repr_args().split(", ", 3)
        opts = f", {first[3]}" if len(first) > 3 else ""
        out = "" if isinstance(self.head, nn.Identity) else f", {self.out_features}"
        return f"EGNN({self.in_features}, {self.hidden}{out}, n_layers={len(self.layers)}{opts})"

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
            Node features, shape ``(..., N, in_features)``.
        x : Tensor
            Positions, shape ``(..., N, d)``.
        v : Tensor, optional
            Velocities, shape ``(..., N, d)``; required exactly when
            ``update_velocity=True``.
        mask : Tensor, optional
            Boolean, shape ``(..., N)``, False for padding: padded particles
            never influence real ones (their entries may hold anything, NaN
            included); their positions and velocities are returned unchanged
            and their features as 0.
        edge_attr : Tensor, optional
            Shape ``(..., N, N, edge_features)``.

        Returns
        -------
        tuple of Tensor
            ``h'`` ``(..., N, out_features)``, ``x'`` ``(..., N, d)`` and, with
            ``update_velocity``, ``v'`` ``(..., N, d)``.
        """
        name = type(self).__name__
        check_dtypes(name, self.embedding.weight, h=h, x=x, v=v, edge_attr=edge_attr)
        _check_inputs(h, x, v, mask, self.in_features)
        if mask is not None:
            # padded features may hold anything (NaN included): zeroed before the embedding
            h = torch.where(mask[..., None], h, 0.0)
        h = self.embedding(h)
        if mask is not None:
            h = torch.where(mask[..., None], h, torch.zeros_like(h))
        state: tuple[Tensor, ...] = (x,) if v is None else (x, v)
        for layer in self.layers:
            h, *rest = layer(h, *state, mask=mask, edge_attr=edge_attr)
            state = tuple(rest)
        h = self.head(h)
        if mask is not None:
            h = torch.where(mask[..., None], h, torch.zeros_like(h))
        return (h, *state)


# --------------------------------------------------------------------- helpers
def _declare(module: nn.Module, dim: int, velocities: bool) -> None:
    """Set the symmetry declaration ``group``, ``in_kinds``, ``out_kinds`` of an EGNN."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
        raise ValueError(f"dim must be an int >= 2, got {dim!r}")
    module.dim = dim
    module.group = euclidean_group(dim, reflections=True)
    kinds = ("scalar", "point", "vector") if velocities else ("scalar", "point")
    module.in_kinds = module.out_kinds = kinds


def _check_inputs(
    h: Tensor, x: Tensor, v: Tensor | None, mask: Tensor | None, features: int
) -> None:
    if x.dim() < 2:
        raise ValueError(f"x must have shape (..., N, d), got {tuple(x.shape)}")
    if h.shape[:-1] != x.shape[:-1]:
        raise ValueError(
            f"h (..., N, C) and x (..., N, d) must agree on (..., N): h {tuple(h.shape)}, "
            f"x {tuple(x.shape)}"
        )
    if h.shape[-1] != features:
        raise ValueError(
            f"h must have {features} features on its last axis, got shape {tuple(h.shape)}"
        )
    if v is not None and v.shape != x.shape:
        raise ValueError(f"v must have the shape of x {tuple(x.shape)}, got {tuple(v.shape)}")
    if mask is not None:
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be a boolean tensor, got dtype {mask.dtype}")
        if mask.shape != x.shape[:-1]:
            raise ValueError(
                f"mask must have shape {tuple(x.shape[:-1])} (..., N), got {tuple(mask.shape)}"
            )


def _pair_weights(n: int, mask: Tensor | None, aggregation: str, like: Tensor) -> Tensor:
    """Aggregation weights ``w_ij``: 0 on the diagonal and for padding, ``1/count`` for a mean.

    Returns shape ``(N, N)`` without a mask, ``(..., N, N)`` with one.
    """
    w = 1.0 - torch.eye(n, dtype=like.dtype, device=like.device)
    if mask is not None:
        mf = mask.to(like.dtype)
        w = w * mf[..., :, None] * mf[..., None, :]
    if aggregation == "mean":
        w = w / w.sum(-1, keepdim=True).clamp(min=1.0)
    return w


def _copy_modules(src: nn.Module, dst: nn.Module, share: bool) -> None:
    """Give ``dst`` the parameter modules of ``src`` (shared) or copies of their values."""
    if share:
        for name in ("edge_mlp", "node_mlp", "coord_mlp", "velocity_mlp"):
            setattr(dst, name, getattr(src, name))
    else:
        dst.load_state_dict(src.state_dict())
