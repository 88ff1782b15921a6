r"""The EGNN layer as ``torch_geometric`` message passing on sparse graphs.

:class:`EGNNConv` computes exactly what :class:`~symnet.nn.EGNNLayer` computes,
with the same parameter modules under the same names, but over the edges of a
``torch_geometric`` graph (``Data`` / ``Batch``: node features ``x``,
positions ``pos``, optional velocities ``vel``, ``edge_index``). On the fully
connected graph without self-loops the two agree to round-off
(:func:`fully_connected_graph`); :meth:`EGNNConv.from_layer` and
:meth:`~symnet.nn.EGNNLayer.from_conv` share or copy the parameters, and the
state dict of one loads into the other.

``torch_geometric.nn.radius_graph`` needs the optional ``pyg-lib`` or
``torch-cluster`` packages; :func:`radius_graph` here is a dependency-free
replacement (a cell list). Periodic systems pass image shifts per edge
(``edge_shift``, from :func:`symnet.systems.neighbours.radius_graph`).
"""

from __future__ import annotations

import copy

from torch import Tensor

from symnet._warnings import quiet_jit_script
from symnet.groups.utils import euclidean_group
from symnet.nn._egnn_core import EGNNCore, check_aggregation
from symnet.nn._graphs import fully_connected_graph, radius_graph
from symnet.nn.egnn import _copy_modules

with quiet_jit_script():  # torch_geometric scripts classes at import time
    from torch_geometric.data.data import BaseData
    from torch_geometric.nn import MessagePassing

__all__ = ["EGNNConv", "fully_connected_graph", "radius_graph"]


class EGNNConv(EGNNCore, MessagePassing):
    r"""E(n)-equivariant message passing (Satorras et al. 2021) for ``torch_geometric``.

    For every edge ``j -> i`` of ``edge_index`` (row 0 the source ``j``, row 1
    the target ``i``, PyG's ``source_to_target`` flow)::

        m_ij  = phi_e(x_i, x_j, |pos_i - pos_j|^2, edge_attr_ij)
        pos_i' = pos_i + agg_j (pos_i - pos_j) phi_x(m_ij) / sqrt(|pos_i - pos_j|^2 + 1)
        x_i'   = x_i + phi_h(x_i, agg_j m_ij)

    and with ``update_velocity=True``, ``vel_i' = phi_v(x_i) vel_i + agg_j
    (...)``, ``pos_i' = pos_i + vel_i'``. ``agg`` is the mean (default) or
    the sum over the incoming edges; a node without incoming edges gets
    zeros. Self-loops contribute a message but no shift: leave them out (the
    paper sums over ``j != i``; ``torch_geometric.utils.remove_self_loops``).

    **Periodic boxes.** With ``edge_shift`` (shape ``(num_edges, d)``, or
    ``Data.edge_shift``) the relative position of an edge ``j -> i`` is
    ``pos_i - pos_j + shift_ij``, the minimum-image displacement when the
    shifts come from :func:`symnet.systems.neighbours.radius_graph` (its
    convention: ``pos[target] - pos[source] + shift``). The layer is then
    invariant under translations of the torus (positions wrapped, graph and
    shifts rebuilt) and under relabelling the nodes (with ``edge_index``);
    the box breaks rotations. Updated positions ``pos_i + ...`` stay in
    unwrapped coordinates: wrap them afterwards (``box.wrap``) if needed.
    Without ``edge_shift`` nothing changes.

    Equivariant under E(d) (node features invariant, positions ``point``,
    velocities ``vector``) and under relabelling the nodes, provided the
    graph is built from invariant information (e.g. :func:`radius_graph`).
    The parameters and their meaning are those of
    :class:`~symnet.nn.EGNNLayer`.

    Node tensors may carry leading batch axes, ``(..., num_nodes, C)``, for
    several copies of one graph (a static graph, one ``edge_index``); that is
    the layout :func:`~symnet.testing.assert_equivariant` checks:
    ``assert_equivariant(conv, (x, pos, edge_index))`` with ``x`` of shape
    ``(B, num_nodes, C)`` (``x[None]`` for one graph).

    **Declared symmetry and its limitation.** The layer declares ``group =
    Translation(d) * Rotation(d) * Reflection(d)`` (E(d) with reflections),
    ``in_kinds = ("scalar", "point", "constant")`` (``"vector"`` appended for
    ``vel``) and ``out_kinds =
    ("scalar", "point")`` (with ``"vector"``): E(d) acts on positions and
    velocities and leaves the node features and ``edge_index`` (kind
    ``constant``) alone. Permutations of the nodes are a symmetry too, but
    only together with relabelling ``edge_index``, which the symmetry
    assertions do not do yet; they are therefore not declared.

    Parameters
    ----------
    in_features, hidden, out_features, edge_features, update_velocity, aggregation, residual, \
normalize, coord_bound, edge_hidden, node_hidden, coord_hidden
        As for :class:`~symnet.nn.EGNNLayer`.
    dim : int
        Spatial dimension ``d`` of the declared :attr:`group` (default 3; the
        layer itself works in any ``d``).

    Examples
    --------
    >>> import torch
    >>> from torch_geometric.data import Data
    >>> pos = torch.randn(50, 3)
    >>> data = Data(x=torch.randn(50, 8), pos=pos, edge_index=radius_graph(pos, r=1.5))
    >>> conv = EGNNConv(8, 32)
    >>> x, pos = conv(data.x, data.pos, data.edge_index)
    >>> x.shape, pos.shape
    (torch.Size([50, 8]), torch.Size([50, 3]))
    >>> conv(data).pos.shape  # a Data object in, an updated copy out
    torch.Size([50, 3])
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
        check_aggregation(aggregation)  # before MessagePassing sees it
        MessagePassing.__init__(self, aggr=aggregation)
        self._build(
            in_features, hidden, out_features, edge_features=edge_features,
            update_velocity=update_velocity, aggregation=aggregation, residual=residual,
            normalize=normalize, coord_bound=coord_bound, edge_hidden=edge_hidden,
            node_hidden=node_hidden, coord_hidden=coord_hidden,
        )  # fmt: skip
        #: Gather per-node projections of the first edge-MLP layer (``2 edge_hidden``
        #: numbers per edge, no per-edge matmul) rather than the node features (``2 C``
        #: numbers and a ``(2C + 1) x edge_hidden`` matmul per edge); the former is
        #: faster when ``edge_hidden <= 2 C`` (measured on CPU). Same result either way.
        self.project_nodes = self._widths[0] <= 2 * self.in_features
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
            raise ValueError(f"dim must be an int >= 2, got {dim!r}")
        self.dim = dim
        self.group = euclidean_group(dim, permutations=False, reflections=True)
        vel = ("vector",) if self.update_velocity else ()
        self.in_kinds = ("scalar", "point", "constant", *vel)
        self.out_kinds = ("scalar", "point", *vel)

    def __repr__(self) -> str:
        return f"EGNNConv({self._repr_args()})"

    @classmethod
    def from_layer(cls, layer: EGNNCore, share: bool = True) -> EGNNConv:
        """The message-passing layer with the parameters of an :class:`~symnet.nn.EGNNLayer`.

        Parameters
        ----------
        layer : EGNNLayer
            The dense layer.
        share : bool
            Share the parameter modules (default; training one trains both),
            or copy them.
        """
        conv = cls(**layer.config())
        _copy_modules(layer, conv, share)
        return conv

    def forward(  # type: ignore[override]
        self,
        x: Tensor | BaseData,
        pos: Tensor | None = None,
        edge_index: Tensor | None = None,
        vel: Tensor | None = None,
        edge_attr: Tensor | None = None,
        edge_shift: Tensor | None = None,
    ) -> tuple[Tensor, ...] | BaseData:
        """Update node features, positions (and velocities).

        Parameters
        ----------
        x : Tensor or torch_geometric.data.Data
            Node features, shape ``(..., num_nodes, C)`` (leading axes: copies
            of one graph); or a ``Data`` / ``Batch`` holding ``x``, ``pos``,
            ``edge_index`` and, as the layer needs them, ``vel`` and
            ``edge_attr`` (then pass nothing else).
        pos : Tensor
            Positions, shape ``(..., num_nodes, d)``.
        edge_index : Tensor
            Long, shape ``(2, num_edges)``: row 0 sources, row 1 targets.
        vel : Tensor, optional
            Velocities, shape ``(..., num_nodes, d)``; required exactly when
            ``update_velocity=True``.
        edge_attr : Tensor, optional
            Shape ``(..., num_edges, edge_features)``, with the leading axes
            of ``x``.
        edge_shift : Tensor, optional
            Periodic image vectors, shape ``(num_edges, d)`` (or ``(...,
            num_edges, d)``), dtype of ``pos``: an edge's relative position
            is ``pos_i - pos_j + edge_shift`` (``i`` the target). A ``Data``
            passes its ``edge_shift`` attribute if it has one. Not
            differentiated (a constant image vector).

        Returns
        -------
        tuple of Tensor or Data
            ``x'`` ``(..., num_nodes, out_features)``, ``pos'`` ``(...,
            num_nodes, d)`` and, with ``update_velocity``, ``vel'``; for a
            ``Data`` input a shallow copy with ``x``, ``pos`` (and ``vel``)
            replaced.

        Raises
        ------
        TypeError
            ``x``, ``pos``, ``vel``, ``edge_attr`` or ``edge_shift`` not floating point or not
            in the dtype of the layer's parameters (the message names the
            input and the casts that fix it), or a floating ``edge_index``.
        ValueError
            Shapes that disagree.
        """
        if isinstance(x, BaseData):
            data = x
            given = (pos, edge_index, vel, edge_attr, edge_shift)
            if any(t is not None for t in given):
                raise TypeError("pass either a Data object alone or tensors x, pos, edge_index")
            vel_in = getattr(data, "vel", None) if self.update_velocity else None
            attr = getattr(data, "edge_attr", None) if self.edge_features else None
            shift = getattr(data, "edge_shift", None)
            out = self.forward(data.x, data.pos, data.edge_index, vel_in, attr, shift)
            new = copy.copy(data)
            new.x, new.pos = out[0], out[1]
            if self.update_velocity:
                new.vel = out[2]
            return new
        if pos is None or edge_index is None:
            raise TypeError("EGNNConv needs x, pos and edge_index (or a Data object)")
        self._check_dtypes(x=x, pos=pos, vel=vel, edge_attr=edge_attr, edge_shift=edge_shift)
        _check_graph(x, pos, edge_index, vel, self.in_features)
        _check_shift(edge_shift, pos, edge_index)
        self._check_velocity(vel, "vel")
        a, b = self._node_projections(x) if self.project_nodes else (x, x)
        shift = None if edge_shift is None else edge_shift.detach()
        m_agg, dx = self.propagate(
            edge_index, a=a, b=b, pos=pos, edge_attr=edge_attr, edge_shift=shift
        )
        return self._update(x, pos, vel, m_agg, dx, None)

    def message(  # type: ignore[override]
        self,
        a_i: Tensor,
        b_j: Tensor,
        pos_i: Tensor,
        pos_j: Tensor,
        edge_attr: Tensor | None,
        edge_shift: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Per edge: the message ``m_ij`` and the shift ``(pos_i - pos_j) phi_x(m_ij)``.

        ``pos_i - pos_j + edge_shift`` with periodic image shifts.

        ``a_i, b_j`` are the node projections of the first edge-MLP layer when
        :attr:`project_nodes`, else the node features ``x_i, x_j``.

        Returns
        -------
        tuple of Tensor
            Shapes ``(num_edges, hidden)`` and ``(num_edges, d)``.
        """
        diff = pos_i - pos_j if edge_shift is None else pos_i - pos_j + edge_shift
        r2 = (diff * diff).sum(-1, keepdim=True)
        if self.project_nodes:
            m = self._messages(a_i + b_j, r2, edge_attr)
        else:
            m = self._messages_from_features(a_i, b_j, r2, edge_attr)
        return m, self._coord_weights(m, r2) * diff

    def aggregate(  # type: ignore[override]
        self,
        inputs: tuple[Tensor, Tensor],
        index: Tensor,
        ptr: Tensor | None = None,
        dim_size: int | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Sum or mean of the messages and of the shifts at each target node.

        Separately, rather than of their concatenation: no ``(num_edges,
        hidden + d)`` copy (about 5% of a layer's time on CPU).
        """
        return tuple(  # type: ignore[return-value]
            self.aggr_module(t, index, ptr=ptr, dim_size=dim_size, dim=self.node_dim)
            for t in inputs
        )


def _check_graph(x: Tensor, pos: Tensor, edge_index: Tensor, vel: Tensor | None, c: int) -> None:
    if x.dim() < 2 or pos.dim() != x.dim() or x.shape[:-1] != pos.shape[:-1]:
        raise ValueError(
            f"x (..., num_nodes, C) and pos (..., num_nodes, d) must agree on (..., "
            f"num_nodes): x {tuple(x.shape)}, pos {tuple(pos.shape)}"
        )
    if x.shape[-1] != c:
        raise ValueError(f"x must have {c} features, got shape {tuple(x.shape)}")
    if not isinstance(edge_index, Tensor) or edge_index.is_floating_point():
        got = edge_index.dtype if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise TypeError(
            f"edge_index must be an integer tensor (torch.long) of shape (2, num_edges), got {got}"
        )
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(
            f"edge_index must have shape (2, num_edges), got {tuple(edge_index.shape)}"
        )
    if vel is not None and vel.shape != pos.shape:
        raise ValueError(
            f"vel must have the shape of pos {tuple(pos.shape)}, got {tuple(vel.shape)}"
        )


def _check_shift(shift: Tensor | None, pos: Tensor, edge_index: Tensor) -> None:
    """``edge_shift`` must be ``(num_edges, d)`` or ``(..., num_edges, d)`` like ``pos``."""
    if shift is None:
        return
    want = (edge_index.shape[1], pos.shape[-1])
    if shift.dim() < 2 or tuple(shift.shape[-2:]) != want or shift.dim() > pos.dim():
        raise ValueError(
            f"edge_shift must have shape (num_edges, d) = {want} (or (..., num_edges, d) with "
            f"the leading axes of pos), got {tuple(shift.shape)}"
        )
