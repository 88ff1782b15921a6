r"""The PaiNN layer as ``torch_geometric`` message passing on sparse graphs.

:class:`PaiNNConv` computes exactly what :class:`~symnet.nn.PaiNNLayer`
computes, with the same parameter modules under the same names, over the edges
of a ``torch_geometric`` graph (``Data`` / ``Batch``: scalar features ``x``,
positions ``pos``, vector features ``vec``, ``edge_index``). On the fully
connected graph without self-loops (:func:`~symnet.nn.fully_connected_graph`)
the two agree to round-off; graphs within a cutoff come from
:func:`~symnet.nn.radius_graph`, periodic ones (with image shifts) from
:func:`symnet.systems.neighbours.radius_graph`.
"""

from __future__ import annotations

import copy

from torch import Tensor

from symnet._warnings import quiet_jit_script
from symnet.groups.utils import euclidean_group
from symnet.nn._egnn_core import check_aggregation
from symnet.nn._painn_core import VECTOR_CHANNELS, PaiNNCore, check_vectors, copy_modules
from symnet.nn.egnn_conv import _check_graph, _check_shift

with quiet_jit_script():  # torch_geometric scripts classes at import time
    from torch_geometric.data.data import BaseData
    from torch_geometric.nn import MessagePassing

__all__ = ["PaiNNConv"]


class PaiNNConv(PaiNNCore, MessagePassing):
    r"""PaiNN message passing (Schütt et al. 2021) for ``torch_geometric``.

    For every edge ``j -> i`` of ``edge_index`` (row 0 the source ``j``, row 1
    the target ``i``), with ``r_ij = pos_i - pos_j`` (``+ edge_shift``)::

        (a_ij, b_ij, c_ij) = phi(x_j) * W(|r_ij|)
        x_i   <- x_i + agg_j a_ij
        vec_i <- vec_i + agg_j (b_ij vec_j + c_ij r_ij / |r_ij|)

    then the update block of :class:`~symnet.nn.PaiNNLayer` on every node.
    ``agg`` is the sum (default) or the mean over the incoming edges (all of
    them: with a cutoff, build the graph within it, :func:`~symnet.nn.radius_graph`;
    edges beyond the cutoff then contribute 0 but, for a mean, still count).
    Leave self-loops out. The parameters and their meaning are those of
    :class:`~symnet.nn.PaiNNLayer`.

    **Periodic boxes.** With ``edge_shift`` (``(num_edges, d)``, from
    :func:`symnet.systems.neighbours.radius_graph`, convention ``pos[target] -
    pos[source] + shift``) each edge sees the minimum-image displacement; the
    layer is then invariant under translations of the torus.

    Node tensors may carry leading batch axes (copies of one graph):
    ``x`` ``(..., num_nodes, F)``, ``pos`` ``(..., num_nodes, d)``, ``vec``
    ``(..., num_nodes, F, d)``. Declared symmetry: ``group = Translation(d) *
    Rotation(d) * Reflection(d)``, ``in_kinds = ("scalar", "point",
    "constant", VECTOR_CHANNELS)``, ``out_kinds = ("scalar",
    VECTOR_CHANNELS)``, so ``assert_equivariant(conv, (x, pos, edge_index,
    vec))`` is one line. Relabelling the nodes (with ``edge_index``) is a
    symmetry too, not declared (as for :class:`~symnet.nn.EGNNConv`).

    Parameters
    ----------
    features, n_rbf, cutoff, rbf_cutoff, aggregation, dim, edge_features, normalize
        As for :class:`~symnet.nn.PaiNNLayer`.

    Examples
    --------
    >>> import torch
    >>> from symnet.nn import radius_graph
    >>> pos = torch.randn(40, 3)
    >>> conv = PaiNNConv(8, cutoff=1.5)
    >>> x, vec = conv(torch.randn(40, 8), pos, radius_graph(pos, r=1.5))
    >>> x.shape, vec.shape
    (torch.Size([40, 8]), torch.Size([40, 8, 3]))
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
        check_aggregation(aggregation)  # before MessagePassing sees it
        MessagePassing.__init__(self, aggr=aggregation)
        self._build(features, n_rbf, cutoff=cutoff, rbf_cutoff=rbf_cutoff,
                    aggregation=aggregation, dim=dim, edge_features=edge_features,
                    normalize=normalize)  # fmt: skip
        self.group = euclidean_group(self.dim, permutations=False, reflections=True)
        self.in_kinds = ("scalar", "point", "constant", VECTOR_CHANNELS)
        self.out_kinds = ("scalar", VECTOR_CHANNELS)

    def __repr__(self) -> str:
        return f"PaiNNConv({self._repr_args()})"

    @classmethod
    def from_layer(cls, layer: PaiNNCore, share: bool = True) -> PaiNNConv:
        """The message-passing layer with the parameters of a :class:`~symnet.nn.PaiNNLayer`.

        Parameters
        ----------
        layer : PaiNNLayer
            The dense layer.
        share : bool
            Share the parameter modules (default), or copy them.
        """
        conv = cls(**layer.config())
        copy_modules(layer, conv, share)
        return conv

    def forward(  # type: ignore[override]
        self,
        x: Tensor | BaseData,
        pos: Tensor | None = None,
        edge_index: Tensor | None = None,
        vec: Tensor | None = None,
        edge_shift: Tensor | None = None,
        edge_attr: Tensor | None = None,
    ) -> tuple[Tensor, Tensor] | BaseData:
        """Update scalar and vector features.

        Parameters
        ----------
        x : Tensor or torch_geometric.data.Data
            Scalar features, shape ``(..., num_nodes, F)``; or a ``Data`` /
            ``Batch`` holding ``x``, ``pos``, ``edge_index`` and optionally
            ``vec``, ``edge_shift`` and ``edge_attr`` (then pass nothing else).
        pos : Tensor
            Positions, shape ``(..., num_nodes, d)``.
        edge_index : Tensor
            Long, shape ``(2, num_edges)``: row 0 sources, row 1 targets.
        vec : Tensor, optional
            Vector features, shape ``(..., num_nodes, F, d)``; default zeros.
        edge_shift : Tensor, optional
            Periodic image vectors, shape ``(num_edges, d)``: an edge's
            relative position is ``pos_i - pos_j + edge_shift``. Not
            differentiated.
        edge_attr : Tensor, optional
            Shape ``(..., num_edges, edge_features)``; required exactly when
            ``edge_features > 0``.

        Returns
        -------
        tuple of Tensor or Data
            ``x'`` ``(..., num_nodes, F)`` and ``vec'`` ``(..., num_nodes, F,
            d)``; for a ``Data`` input a shallow copy with ``x`` and ``vec`` replaced.

        Raises
        ------
        TypeError
            An input not floating point or not in the parameters' dtype, a
            floating ``edge_index``, or a ``Data`` object together with tensors.
        ValueError
            Shapes that disagree (the message names the argument).
        """
        if isinstance(x, BaseData):
            data = x
            if any(t is not None for t in (pos, edge_index, vec, edge_shift, edge_attr)):
                raise TypeError("pass either a Data object alone or tensors x, pos, edge_index")
            out = self.forward(
                data.x, data.pos, data.edge_index, getattr(data, "vec", None),
                getattr(data, "edge_shift", None),
                getattr(data, "edge_attr", None) if self.edge_features else None,
            )  # fmt: skip
            new = copy.copy(data)
            new.x, new.vec = out
            return new
        if pos is None or edge_index is None:
            raise TypeError("PaiNNConv needs x, pos and edge_index (or a Data object)")
        self._check_dtypes(x=x, pos=pos, vec=vec, edge_shift=edge_shift, edge_attr=edge_attr)
        _check_graph(x, pos, edge_index, None, self.features)
        _check_shift(edge_shift, pos, edge_index)
        d = pos.shape[-1]
        if vec is None:
            vec = pos.new_zeros((*pos.shape[:-1], self.features, d))
        check_vectors(vec, "vec", tuple(pos.shape[:-1]), self.features, d)
        if edge_attr is not None or self.edge_features:
            lead = (*x.shape[:-2], edge_index.shape[1])
            self._check_edge_attr(edge_attr, lead)
        shift = None if edge_shift is None else edge_shift.detach()
        s_n, v_n = self._pre_norm(x, vec, 0)
        ds, dv = self.propagate(edge_index, phi=self._context(s_n), vec=v_n.flatten(-2), pos=pos,
                                edge_shift=shift, edge_attr=edge_attr)  # fmt: skip
        return self._update(x + ds, vec + dv.unflatten(-1, (self.features, d)))

    def message(  # type: ignore[override]
        self,
        phi_j: Tensor,
        vec_j: Tensor,
        pos_i: Tensor,
        pos_j: Tensor,
        edge_shift: Tensor | None = None,
        edge_attr: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Per edge: the scalar message ``a_ij`` and the vector message (flattened).

        Returns
        -------
        tuple of Tensor
            Shapes ``(..., num_edges, F)`` and ``(..., num_edges, F d)``.
        """
        diff = pos_i - pos_j if edge_shift is None else pos_i - pos_j + edge_shift
        basis, unit = self._pair_basis(diff, None, edge_attr)
        a, b, c = (phi_j * self._filters(basis)).chunk(3, -1)
        v_j = vec_j.unflatten(-1, (self.features, diff.shape[-1]))
        dv = b[..., None] * v_j + c[..., None] * unit[..., None, :]
        return a, dv.flatten(-2)

    def aggregate(  # type: ignore[override]
        self,
        inputs: tuple[Tensor, Tensor],
        index: Tensor,
        ptr: Tensor | None = None,
        dim_size: int | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Sum or mean of the scalar and of the vector messages at each target node."""
        return tuple(  # type: ignore[return-value]
            self.aggr_module(t, index, ptr=ptr, dim_size=dim_size, dim=self.node_dim)
            for t in inputs
        )
